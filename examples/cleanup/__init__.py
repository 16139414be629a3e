"""Handlers of definitions/nightly-cleanup.yaml."""
