"""Handlers of the standalone-triggers template (they echo what they get)."""


def on_event(event, context):
    return event
