"""A consumer that never succeeds."""


def fail(event, context):
    raise RuntimeError("cannot process this message")
