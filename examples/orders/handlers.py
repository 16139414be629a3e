"""Lambda handlers of the order flow (definitions/orders.yaml).

Plain Python with the Lambda signature ``handler(event, context)``: the same code runs
under flowengine locally and on AWS Lambda.
"""

from __future__ import annotations

import hashlib
from typing import Any


class InvalidOrder(Exception):
    """The order cannot be placed as submitted (the flow catches this and rejects it)."""


class PaymentGatewayBusy(Exception):
    """The payment gateway asked us to come back later (the flow retries with backoff)."""


def validate_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Check the order and compute its total from the line items."""
    items = event.get("items")
    if not event.get("orderId") or not isinstance(items, list) or not items:
        raise InvalidOrder("an order needs an orderId and at least one item")
    for item in items:
        if item.get("quantity", 0) <= 0:
            raise InvalidOrder(f"item {item.get('sku')!r} has no quantity")
    total = round(sum(i["quantity"] * i.get("price", 0) for i in items), 2)
    return {**event, "total": total}


def reserve_stock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reserve one line item in the stock service."""
    return {"sku": event["sku"], "reserved": event["quantity"]}


def charge_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Charge the customer; the payment id is derived from the order so reruns are idempotent."""
    if event.get("amount", 0) <= 0:
        raise ValueError("nothing to charge")
    payment_id = "pay_" + hashlib.sha256(str(event["orderId"]).encode()).hexdigest()[:12]
    return {"paymentId": payment_id, "amount": event["amount"], "status": "CAPTURED"}


def ship_item(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Hand one line item to the carrier."""
    return {"sku": event["sku"], "parcel": f"parcel-{event['sku']}"}


def notify_customer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Tell the customer what happened (here: return the message that would be sent)."""
    return {"sent": True, "message": event["message"]}
