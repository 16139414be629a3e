"""Handlers of definitions/upload-pipeline.yaml."""
