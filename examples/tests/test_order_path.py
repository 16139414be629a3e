"""Assert on how an execution ran: the path it took and one state's attempts.

definitions/orders.yaml places an order: Validate (with a Catch), a Choice on the total,
a Parallel that reserves stock (a Map) and charges the card (with a Retry), a Map that
ships each item, then Notify.  The tests run the app's real handlers and mock only the
payment gateway.  Handlers run inline (``sync_handlers="inline"``), so the order in which
concurrent branches and iterations enter their states is fully deterministic.
"""

import json
from pathlib import Path

from flowengine.testing import mocks, run_flow

ROOT = Path(__file__).parents[2]
ORDERS = ROOT / "definitions" / "orders.yaml"
ORDER = json.loads((ROOT / "examples" / "orders" / "order.json").read_text())
PAYMENT = {"paymentId": "pay_1", "status": "CAPTURED"}


def place(order, charge=None):
    """Run PlaceOrder with the payment gateway mocked (by default: it takes the payment)."""
    mocked = {"Charge": charge or mocks.returns(PAYMENT)}
    return run_flow(ORDERS, "PlaceOrder", input=order, mocks=mocked, sync_handlers="inline")


def test_the_happy_path():
    result = place(ORDER)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.path == [
        "Validate", "CheckSize", "Fulfil",
        "Fulfil/0/ReserveAll", "Fulfil/1/Charge",        # the Parallel's two branches
        "Fulfil/0/ReserveAll/Reserve", "Fulfil/0/ReserveAll/Reserve",   # one per line item
        "Ship", "Ship/ShipOne", "Ship/ShipOne",
        "Notify",
    ]
    assert "ManualReview" not in result.path_names  # a small order skips the review


def test_a_big_order_goes_through_manual_review():
    big = dict(ORDER, items=[{"sku": "piano", "quantity": 1, "price": 4999.0}])

    result = place(big)

    assert result.path[:4] == ["Validate", "CheckSize", "ManualReview", "Fulfil"]
    assert result.state("ManualReview").output["review"] == {"reviewed": True}


def test_a_busy_gateway_is_retried():
    busy_twice = mocks.sequence(mocks.raises("PaymentGatewayBusy").times(2), mocks.returns(PAYMENT))

    result = place(ORDER, charge=busy_twice)

    assert result.status == "SUCCEEDED"
    charge = result.state("Charge")
    assert [a.status for a in charge] == ["failed", "failed", "succeeded"]
    assert charge.retry_delays == [2, 4]
    assert charge[0].input == charge[2].input == dict(ORDER, total=65.0)  # every attempt gets the same input
    assert result.output["fulfilment"]["payment"] == PAYMENT


def test_an_invalid_order_is_caught_and_rejected():
    result = place({"orderId": "o-9", "items": []})

    assert (result.status, result.error) == ("FAILED", "OrderRejected")
    assert result.path == ["Validate", "Rejected"]
    (validate,) = result.state("Validate")
    assert validate.status == "caught" and validate.error == "InvalidOrder"
    assert json.loads(validate.cause)["errorMessage"] == "an order needs an orderId and at least one item"
    assert validate.output["rejection"]["Error"] == "InvalidOrder"  # the Catch's ResultPath


def test_a_payment_that_keeps_failing_ends_in_payment_failed():
    result = place(ORDER, charge=mocks.raises("PaymentGatewayBusy", "down"))

    assert (result.status, result.error) == ("FAILED", "PaymentFailed")
    assert result.path[-1] == "PaymentFailed"
    assert len(result.state("Charge")) == 4  # MaxAttempts 3: the first try and three retries
    assert result.state("Fulfil")[0].status == "caught"
