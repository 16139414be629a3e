"""Mocks for Task states: each kind, the per-state counters, records and reports."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from flowengine.dsl.app import load
from flowengine.model.failure import StatesFailure
from flowengine.testing import mocks
from flowengine.integrations.mocks import MockCallContext, MockExhausted, MockSet

ROOT = Path(__file__).resolve().parents[2]
ORDERS = str(ROOT / "definitions" / "orders.yaml")


def ctx(call_index: int = 0, *, attempt: int = 0, state: str = "S", map_index: int | None = None) -> MockCallContext:
    return MockCallContext(state, state, attempt, call_index, "exec-1", map_index)


def outcome(mock: mocks.Mock, payload: object = None, c: MockCallContext | None = None) -> object:
    """What a mock answers: its result, or ("THROW", error, cause)."""
    try:
        return mock.respond(payload, c or ctx())
    except StatesFailure as f:
        return ("THROW", f.error, f.cause)


@pytest.fixture(scope="module")
def orders():
    return load(ORDERS).app.flows["PlaceOrder"].definition


# -- the mock kinds ---------------------------------------------------------------------------


def test_returns_gives_a_fresh_copy_every_call() -> None:
    value = {"ok": True, "items": [1, 2]}
    m = mocks.returns(value)
    first = m.respond({}, ctx())
    first["items"].append(3)
    value["ok"] = False  # the caller's dict is not shared either
    assert m.respond({}, ctx(1)) == {"ok": True, "items": [1, 2]}


def test_returns_accepts_every_json_scalar() -> None:
    values: list[object] = [None, "text", 0, 1.5, True, [], {}]
    for v in values:
        assert mocks.returns(v).respond(None, ctx()) == v


@pytest.mark.parametrize("bad", [{1: "x"}, {"a": {1, 2}}, (1, 2), float("nan"), object()])
def test_returns_refuses_values_that_are_not_json(bad: object) -> None:
    with pytest.raises(TypeError, match="mocks.returns"):
        mocks.returns(bad)


def test_raises_fails_with_error_and_cause() -> None:
    assert outcome(mocks.raises("PaymentGatewayBusy", "try later")) == ("THROW", "PaymentGatewayBusy", "try later")
    assert outcome(mocks.raises("States.Timeout")) == ("THROW", "States.Timeout", None)


@pytest.mark.parametrize(("error", "cause"), [("", None), (None, None), ("E", 3)])
def test_raises_refuses_bad_arguments(error: object, cause: object) -> None:
    with pytest.raises(TypeError):
        mocks.raises(error, cause)  # type: ignore[arg-type]


def test_call_gets_payload_and_context() -> None:
    seen: list[MockCallContext] = []

    def ship(payload: dict, c: MockCallContext) -> dict:
        seen.append(c)
        return {"parcel": payload["sku"], "item": c.map_index}

    m = mocks.call(ship)
    c = MockCallContext("ShipOne", "Ship/ShipOne", attempt=1, call_index=4, execution_name="e", map_index=2)
    assert m.respond({"sku": "A-1"}, c) == {"parcel": "A-1", "item": 2}
    assert seen == [c]


def test_call_may_raise_states_failure_to_fail_the_task() -> None:
    def flaky(payload: object, c: MockCallContext) -> object:
        if c.attempt < 2:
            raise StatesFailure("Busy", f"attempt {c.attempt}")
        return "done"

    m = mocks.call(flaky)
    assert outcome(m, c=ctx(0, attempt=0)) == ("THROW", "Busy", "attempt 0")
    assert outcome(m, c=ctx(2, attempt=2)) == "done"


def test_call_lets_other_exceptions_propagate() -> None:
    m = mocks.call(lambda payload, c: payload["missing"])
    with pytest.raises(KeyError):
        m.respond({}, ctx())


def test_call_checks_its_function_early() -> None:
    with pytest.raises(TypeError, match="two arguments"):
        mocks.call(lambda payload: payload)  # type: ignore[arg-type, misc]
    with pytest.raises(TypeError, match="callable"):
        mocks.call({"not": "callable"})  # type: ignore[arg-type]
    mocks.call(lambda *args: None)  # anything that binds two arguments is fine


def test_call_result_must_be_json() -> None:
    m = mocks.call(lambda p, c: {"when": object()})
    with pytest.raises(TypeError, match="not a JSON value"):
        m.respond({}, ctx())


def test_sequence_by_invocation_number_and_the_last_step_repeats() -> None:
    m = mocks.sequence(
        mocks.raises("PaymentGatewayBusy", "try later"),
        mocks.raises("PaymentGatewayBusy"),
        mocks.returns({"paymentId": "p1"}),
    )
    got = [outcome(m, c=ctx(i)) for i in range(5)]
    assert got == [
        ("THROW", "PaymentGatewayBusy", "try later"),
        ("THROW", "PaymentGatewayBusy", None),
        {"paymentId": "p1"},
        {"paymentId": "p1"},
        {"paymentId": "p1"},
    ]


def test_sequence_steps_can_repeat() -> None:
    m = mocks.sequence(mocks.raises("Busy").times(3), mocks.returns(1).times(2), mocks.returns(2))
    assert m.length == 6
    assert [outcome(m, c=ctx(i)) for i in range(7)] == [("THROW", "Busy", None)] * 3 + [1, 1, 2, 2]


def test_strict_sequence_fails_when_exhausted() -> None:
    m = mocks.sequence(mocks.returns(1), mocks.returns(2), strict=True)
    assert [outcome(m, c=ctx(i)) for i in range(2)] == [1, 2]
    with pytest.raises(MockExhausted) as info:
        m.respond(None, MockCallContext("Charge", "Fulfil/1/Charge", call_index=2))
    assert info.value.error == "States.Runtime"
    cause = info.value.cause or ""
    assert "'Fulfil/1/Charge'" in cause and "invocation 2" in cause and "invocations 0-1" in cause
    assert isinstance(info.value, StatesFailure)  # the engine consumes it like any failure


def test_sequence_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        mocks.sequence()
    with pytest.raises(ValueError):
        mocks.returns(1).times(0)
    with pytest.raises(TypeError, match="another sequence"):
        mocks.sequence(mocks.sequence(mocks.returns(1)))
    with pytest.raises(TypeError, match="must be a mock"):
        mocks.sequence({"ok": True})  # type: ignore[arg-type]


def test_mocks_are_frozen_values() -> None:
    m = mocks.raises("E", "c")
    with pytest.raises(AttributeError):
        m.error = "other"  # type: ignore[misc]
    assert m == mocks.raises("E", "c")


# -- MockSet: lookup, counters, records -------------------------------------------------------


def test_lookup_by_name_and_a_path_wins_over_a_name() -> None:
    by_path = mocks.returns("path")
    ms = MockSet({"Reserve": mocks.returns("name"), "Fulfil/0/ReserveAll/Reserve": by_path})
    assert ms.lookup("Reserve", "Fulfil/0/ReserveAll/Reserve") is by_path
    assert ms.lookup("Reserve", "Other/Reserve") is ms["Reserve"]
    assert ms.lookup("Notify", "Notify") is None
    assert ms.for_execution("e").lookup("Notify", "Notify") is None


def test_mockset_refuses_values_that_are_not_mocks() -> None:
    with pytest.raises(TypeError, match="mocks.returns"):
        MockSet({"Validate": {"ok": True}})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        MockSet({"": mocks.returns(1)})


def test_counter_is_per_state_per_execution_and_counts_every_invocation() -> None:
    ms = MockSet({
        "Charge": mocks.sequence(mocks.raises("Busy").times(2), mocks.returns({"paymentId": "p1"})),
        "Validate": mocks.returns({"ok": True}),
    })
    ex = ms.for_execution("exec-1")
    results = []
    for attempt in range(3):  # the engine retries Charge: each retry is an invocation
        try:
            results.append(ex.respond("Charge", "Fulfil/1/Charge", {"n": attempt}, attempt=attempt))
        except StatesFailure as f:
            results.append(f.error)
    assert results == ["Busy", "Busy", {"paymentId": "p1"}]
    ex.respond("Validate", "Validate", {})
    assert ex.invocations("Fulfil/1/Charge") == 3
    assert ex.invocations("Charge") == 3
    assert ex.invocations("Validate") == 1
    # another execution starts its own counters from 0
    other = ms.for_execution("exec-2")
    with pytest.raises(StatesFailure):
        other.respond("Charge", "Fulfil/1/Charge", {})
    assert ms.for_execution("exec-1") is ex


def test_map_iterations_share_the_state_counter() -> None:
    # Step Functions Local: one counter per state per execution, not per iteration.
    ms = MockSet({"ShipOne": mocks.sequence(mocks.returns("first"), mocks.returns("second"), strict=True)})
    ex = ms.for_execution("e")
    assert ex.respond("ShipOne", "Ship/ShipOne", {"sku": "a"}, map_index=0) == "first"
    assert ex.respond("ShipOne", "Ship/ShipOne", {"sku": "b"}, map_index=1) == "second"
    with pytest.raises(MockExhausted, match="invocation 2"):
        ex.respond("ShipOne", "Ship/ShipOne", {"sku": "c"}, map_index=2)
    assert [c.context.map_index for c in ex.calls("ShipOne")] == [0, 1, 2]
    assert [c.context.call_index for c in ex.calls("Ship/ShipOne")] == [0, 1, 2]


def test_one_mock_named_twice_keeps_one_counter_per_state() -> None:
    # A name that two states share (in different scopes) mocks both; each state counts alone.
    ms = MockSet({"Step": mocks.sequence(mocks.returns(0), mocks.returns(1))})
    ex = ms.for_execution("e")
    assert ex.respond("Step", "A/Step", None) == 0
    assert ex.respond("Step", "B/0/Step", None) == 0
    assert ex.respond("Step", "A/Step", None) == 1


def test_context_carries_what_the_engine_knows() -> None:
    seen: list[MockCallContext] = []
    ms = MockSet({"ShipOne": mocks.call(lambda p, c: seen.append(c))})
    ms.for_execution("id-7", execution_name="nightly").respond("ShipOne", "Ship/ShipOne", {}, 3, attempt=1)
    assert seen == [MockCallContext("ShipOne", "Ship/ShipOne", attempt=1, call_index=0,
                                    execution_name="nightly", map_index=3)]


def test_calls_are_recorded_with_payload_and_outcome() -> None:
    ms = MockSet({"Charge": mocks.sequence(mocks.raises("Busy", "later"), mocks.returns({"id": 1}))})
    ex = ms.for_execution("e")
    payload = {"amount": 10}
    with pytest.raises(StatesFailure):
        ex.respond("Charge", "Fulfil/1/Charge", payload)
    payload["amount"] = 99  # the record keeps what the mock saw
    ex.respond("Charge", "Fulfil/1/Charge", payload)
    (p1, o1), (p2, o2) = ms.calls("Charge")
    assert p1 == {"amount": 10} and (o1.error, o1.cause) == ("Busy", "later")
    assert p2 == {"amount": 99} and o2 == {"id": 1}
    first, second = ex.calls("Fulfil/1/Charge")
    assert first.failed and not second.failed
    assert (first.mock_key, first.state_name, first.state_path) == ("Charge", "Charge", "Fulfil/1/Charge")
    assert ms.calls("Nope") == []
    assert len(ms.calls()) == 2


def test_calls_of_each_execution_are_kept_apart() -> None:
    ms = MockSet({"Validate": mocks.returns(True)})
    ms.for_execution("a").respond("Validate", "Validate", 1)
    ms.for_execution("b").respond("Validate", "Validate", 2)
    assert [c.payload for c in ms.calls("Validate")] == [1, 2]
    assert [c.payload for c in ms.for_execution("b").calls()] == [2]
    assert [c.execution_id for c in ms.calls()] == ["a", "b"]


def test_respond_on_an_unmocked_state_is_a_lookup_error() -> None:
    with pytest.raises(LookupError, match="Notify"):
        MockSet({}).for_execution("e").respond("Notify", "Notify", {})


def test_unused_reports_mocks_never_called() -> None:
    ms = MockSet({"Validate": mocks.returns(1), "Charge": mocks.returns(2), "Notify": mocks.raises("E")})
    ex = ms.for_execution("e")
    ex.respond("Validate", "Validate", {})
    with pytest.raises(StatesFailure):
        ex.respond("Notify", "Notify", {})  # a failing call is still a use
    assert ms.unused() == ["Charge"]
    assert ms.for_execution("other").unused() == ["Validate", "Charge", "Notify"]
    ms.reset()
    assert ms.unused() == ["Validate", "Charge", "Notify"] and ms.calls() == []
    assert ms.for_execution("e").invocations("Validate") == 0


def test_counters_are_safe_across_threads() -> None:
    ms = MockSet({"S": mocks.call(lambda p, c: c.call_index)})
    ex = ms.for_execution("e")
    out: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(200):
            r = ex.respond("S", "S", None)
            with lock:
                out.append(r)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(out) == list(range(800))


# -- reports against a flow -------------------------------------------------------------------


def test_unmocked_tasks_lists_every_task_without_a_mock(orders) -> None:
    ms = MockSet({"Validate": mocks.returns({}), "Fulfil/0/ReserveAll/Reserve": mocks.returns({})})
    assert [s.path for s in ms.unmocked_tasks(orders)] == ["Fulfil/1/Charge", "Ship/ShipOne", "Notify"]
    every = MockSet({n: mocks.returns({}) for n in ("Validate", "Reserve", "Charge", "ShipOne", "Notify")})
    assert every.unmocked_tasks(orders) == []


def test_unknown_states_names_typos_and_states_that_are_not_tasks(orders) -> None:
    ms = MockSet({
        "Validate": mocks.returns({}),
        "Ship/ShipOne": mocks.returns({}),
        "ChargePayment": mocks.returns({}),   # the function's name, not the state's
        "Reserv": mocks.returns({}),
        "CheckSize": mocks.returns({}),       # a Choice
        "Ship": mocks.returns({}),            # a Map
        "Zzzzz": mocks.returns({}),
    })
    diags = {d.message: d for d in ms.unknown_states(orders)}
    assert [d.code for d in diags.values()] == ["FE710", "FE710", "FE711", "FE711", "FE710"]
    assert diags["no state named 'ChargePayment' in the flow"].hint == "did you mean 'Charge'?"
    assert diags["no state named 'Reserv' in the flow"].hint == "did you mean 'Reserve'?"
    choice = diags["state 'CheckSize' is a Choice state, not a Task; only Task states can be mocked"]
    assert choice.state_path == "CheckSize"
    assert "ShipOne" in (diags["state 'Ship' is a Map state, not a Task; only Task states can be mocked"].hint or "")
    assert "Validate" in (diags["no state named 'Zzzzz' in the flow"].hint or "")
    assert all(d.span.file == "<mocks>" for d in diags.values())


def test_as_mock_set_accepts_a_mapping_a_set_or_none() -> None:
    ms = MockSet({"A": mocks.returns(1)})
    assert mocks.as_mock_set(ms) is ms
    assert mocks.as_mock_set(None) is None
    assert list(mocks.as_mock_set({"A": mocks.returns(1)}) or ()) == ["A"]
    with pytest.raises(TypeError):
        mocks.as_mock_set([("A", mocks.returns(1))])  # type: ignore[arg-type]
