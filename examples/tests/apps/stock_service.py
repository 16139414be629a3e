"""The stock service's handler: each reservation takes 200 ms (of modelled time)."""

import asyncio


async def reserve(event, context):
    # An async handler that awaits asyncio.sleep holds its concurrency slot for that long;
    # the virtual clock skips the wait.
    await asyncio.sleep(0.2)
    return {"sku": event["sku"], "reserved": True}
