"""Test one state in isolation, as AWS's TestState API does, offline.

``test_state`` runs a single state of a flow once on the input you give, and reports the
data after each step: InputPath, Parameters, the result, ResultSelector, ResultPath,
OutputPath; the next state; or the error, and whether a Retry or a Catch would take it.
"""

from pathlib import Path

from flowengine.testing import mocks, test_state

ORDERS = Path(__file__).parents[2] / "definitions" / "orders.yaml"
ORDER = {"orderId": "o-1", "customer": "ada@example.com", "total": 65.0,
         "items": [{"sku": "book-42", "quantity": 2, "price": 12.5}, {"sku": "lamp-7", "quantity": 1, "price": 40}]}


def test_what_charge_sends_and_returns():
    result = test_state(ORDERS, "Charge", input=ORDER, mock=mocks.returns({"paymentId": "pay_1"}))

    assert result.status == "SUCCEEDED"
    assert result.after_input_path == ORDER
    assert result.after_parameters == {"orderId": "o-1", "amount": 65.0}  # what the function receives
    assert result.result == {"paymentId": "pay_1"}
    assert result.output == {"paymentId": "pay_1"}
    assert result.next_state is None  # the last state of its Parallel branch


def test_notify_formats_its_message():
    shipped = dict(ORDER, shipments=[{"parcel": "p1"}, {"parcel": "p2"}])

    result = test_state(ORDERS, "Notify", input=shipped, mock=mocks.returns({"sent": True}))

    assert result.after_parameters["message"] == "Order o-1 is on its way in 2 parcels."
    assert result.after_result_path == dict(shipped, notification={"sent": True})


def test_validate_runs_its_real_handler_and_the_catch_takes_invalid_orders():
    valid = test_state(ORDERS, "Validate", input={"orderId": "o-1", "items": ORDER["items"]})
    assert valid.output["total"] == 65.0 and valid.next_state == "CheckSize"

    invalid = test_state(ORDERS, "Validate", input={"orderId": "o-2", "items": []})
    assert invalid.status == "CAUGHT_ERROR"
    assert invalid.error == "InvalidOrder" and invalid.next_state == "Rejected"
    assert invalid.output["rejection"]["Error"] == "InvalidOrder"


def test_a_busy_gateway_is_retriable():
    result = test_state(ORDERS, "Charge", input=ORDER, mock=mocks.raises("PaymentGatewayBusy"), retry_count=1)

    assert result.status == "RETRIABLE"
    assert result.retry_delay == 4  # the second retry: IntervalSeconds 2 x BackoffRate 2


def test_the_choice_on_the_total():
    assert test_state(ORDERS, "CheckSize", input=dict(ORDER, total=1500)).next_state == "ManualReview"
    assert test_state(ORDERS, "CheckSize", input=ORDER).next_state == "Fulfil"
