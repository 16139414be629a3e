"""Read a CSV of orders (orderId,customer,amount) from S3 and return them parsed."""

import csv
import io
import os
from decimal import Decimal, InvalidOperation

import boto3

s3 = boto3.client("s3")


class InvalidOrderFile(Exception):
    """The object is not a CSV with the expected columns."""


def lambda_handler(event, context):
    body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read().decode("utf-8")
    reader = csv.DictReader(io.StringIO(body))
    if reader.fieldnames != ["orderId", "customer", "amount"]:
        raise InvalidOrderFile(f"expected columns orderId,customer,amount, got {reader.fieldnames}")
    orders = []
    for row in reader:
        try:
            cents = int((Decimal(row["amount"]) * 100).to_integral_value())
        except InvalidOperation:
            raise InvalidOrderFile(f"order {row['orderId']}: amount {row['amount']!r} is not a number") from None
        orders.append({"orderId": row["orderId"], "customer": row["customer"], "amountCents": cents})
    return {
        "key": event["key"],
        "stage": os.environ.get("STAGE", "dev"),
        "orders": orders,
        "totalCents": sum(o["amountCents"] for o in orders),
    }
