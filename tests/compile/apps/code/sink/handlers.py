"""Trivial handlers for the compile tests' kitchen-sink app: each returns what it was given."""


def echo(event, context):
    return event


def check(event, context):
    return {"status": "Succeeded"}
