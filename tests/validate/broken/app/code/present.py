def work(event, context):
    return event
