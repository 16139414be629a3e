"""Handlers of definitions/orders.yaml."""
