"""Mocks wired into the engine: per-state, per-execution, checked before and after the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowengine.runtime.engine import Engine
from flowengine.errors import MockConfigError
from flowengine.testing import TestRuntime, load_mock_config, mocks, run_flow
from flowengine.integrations.mocks import MockSet

HERE = Path(__file__).parent
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
MOCKFILES = HERE / "mockfiles"
AWS_DOCS_EXAMPLE = HERE.parents[1] / "examples" / "tests" / "mockfiles" / "aws_docs_example.json"


def never(event, context):
    raise AssertionError("a mocked Task must not run its function")


def flow(*states, **top):
    names = [n for n, _ in states]
    out = {}
    for i, (n, s) in enumerate(states):
        s = dict(s)
        if s["Type"] not in ("Choice", "Fail", "Succeed") and "Next" not in s and "End" not in s:
            s.update({"Next": names[i + 1]} if i + 1 < len(names) else {"End": True})
        out[n] = s
    return {"StartAt": names[0], "States": out, **top}


INVOKE = ("Invoke", {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"FunctionName": "work", "Payload.$": "$"},
                     "ResultSelector": {"body.$": "$.Payload.body"}, "ResultPath": "$.invoked"})
SEND = ("Send", {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                 "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "MessageBody.$": "$"}})


def test_a_mocked_task_never_runs_and_its_raw_result_goes_through_the_dataflow():
    r = run_flow(flow(INVOKE, SEND), input={"a": 1}, handlers={"work": never}, validate=False,
                 mocks={"Invoke": mocks.returns({"StatusCode": 200, "Payload": {"body": "hi"}}),
                        "Send": mocks.returns({"MessageId": "m-1"})})
    assert r.status == "SUCCEEDED", (r.error, r.cause)
    assert r.state("Invoke").output == {"a": 1, "invoked": {"body": "hi"}}
    assert r.output == {"MessageId": "m-1"}
    # the history names the real resources
    scheduled = [e["taskScheduledEventDetails"] for e in r.history if e["type"] == "TaskScheduled"]
    assert [(d["resourceType"], d["resource"]) for d in scheduled] == [("lambda", "invoke"), ("sqs", "sendMessage")]
    assert r.warnings == ()


def test_retries_advance_the_counter_and_each_execution_starts_at_zero():
    busy = {"Type": "Task", "Resource": ARN + "charge",
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 3}]}
    ms = MockSet({"Charge": mocks.sequence(mocks.raises("Busy").times(2), mocks.returns("paid"))})
    with TestRuntime(mocks=ms, validate=False) as rt:
        first = rt.start(flow(("Charge", busy)), name="first")
        second = rt.start(flow(("Charge", busy)), name="second")
        rt.run_until_idle()
        for execution in (first, second):
            result = execution.result()
            assert result.output == "paid"
            assert result.state("Charge").errors == ["Busy", "Busy"]
    assert [c.context.call_index for c in ms.calls("Charge")] == [0, 0, 1, 1, 2, 2]
    assert [c.context.attempt for c in ms.calls("Charge") if c.context.execution_name == "first"] == [0, 1, 2]


def test_map_iterations_see_their_index():
    definition = flow(("Each", {"Type": "Map", "ItemProcessor": {"StartAt": "Price", "States": {
        "Price": {"Type": "Task", "Resource": ARN + "price", "End": True}}}}))
    r = run_flow(definition, input=["a", "b", "c"], validate=False,
                 mocks={"Each/Price": mocks.call(lambda payload, ctx: f"{payload}{ctx.map_index}")})
    assert r.output == ["a0", "b1", "c2"]
    assert [a.map_index for a in r.state("Price")] == [0, 1, 2]


def test_mocks_naming_unknown_states_stop_the_run_before_it_starts():
    with pytest.raises(MockConfigError) as info:
        run_flow(flow(INVOKE), validate=False, mocks={"Invok": mocks.returns({})})
    (d,) = info.value.diagnostics
    assert d.code == "FE710" and d.hint == "did you mean 'Invoke'?"
    with pytest.raises(MockConfigError) as info:
        run_flow(flow(("Pause", {"Type": "Pass"}), INVOKE), validate=False, mocks={"Pause": mocks.returns({})})
    assert info.value.diagnostics[0].code == "FE711"


def test_mock_file_errors_point_into_the_file():
    config = load_mock_config(str(AWS_DOCS_EXAMPLE))
    ms = config.test_case("LambdaSQSIntegration", "HybridPath")
    with pytest.raises(MockConfigError) as info:
        run_flow(flow(("Other", {"Type": "Task", "Resource": ARN + "x"})), mocks=ms, validate=False)
    text = str(info.value)
    assert text.startswith(f"{AWS_DOCS_EXAMPLE}:14:11: FE710 no state named 'LambdaState'")


def test_require_all_mocks_names_every_unmocked_task(tmp_path):
    definition = flow(INVOKE, SEND, ("Last", {"Type": "Task", "Resource": ARN + "x"}))
    with pytest.raises(MockConfigError) as info:
        run_flow(definition, validate=False, require_all_mocks=True, mocks={"Send": mocks.returns({})})
    assert [(d.code, d.state_path) for d in info.value.diagnostics] == [("FE715", "Invoke"), ("FE715", "Last")]
    # no mocks at all: every Task is unmocked
    with pytest.raises(MockConfigError) as info:
        run_flow(definition, validate=False, require_all_mocks=True)
    assert len(info.value.diagnostics) == 3
    # in an app file, the error points at the state
    app = tmp_path / "app.yaml"
    app.write_text("app: a\nflows:\n  main:\n    StartAt: T\n    States:\n      T:\n"
                   "        Type: Task\n        Resource: arn:aws:states:::sqs:sendMessage\n"
                   "        Parameters: {QueueUrl: q, MessageBody: x}\n        End: true\n")
    with pytest.raises(MockConfigError) as info:
        run_flow(str(app), require_all_mocks=True)
    assert str(info.value).startswith(f"{app}:6:7: FE715 Task state 'T' has no mock")


def test_unused_mocks_are_warnings_on_the_result():
    config = load_mock_config(str(AWS_DOCS_EXAMPLE))
    choice = ("Route", {"Type": "Choice", "Choices": [{"Variable": "$.skip", "BooleanEquals": True,
                                                        "Next": "SQSState"}], "Default": "LambdaState"})
    lambda_state = ("LambdaState", {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                    "Parameters": {"FunctionName": "f"}, "Next": "SQSState"})
    sqs = ("SQSState", {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                        "Parameters": {"QueueUrl": "q", "MessageBody": "x"}, "End": True})
    r = run_flow(flow(choice, lambda_state, sqs), input={"skip": True}, validate=False,
                 mocks=config.test_case("LambdaSQSIntegration", "HappyPath"))
    assert r.status == "SUCCEEDED"
    (w,) = r.warnings
    assert (w.code, w.severity, w.state_path) == ("FE716", "warning", "LambdaState")
    assert w.format().startswith(f"{AWS_DOCS_EXAMPLE}:6:11: FE716 the mock for 'LambdaState'")


def test_an_exception_in_a_mock_callable_is_raised_not_turned_into_a_failure():
    def broken(payload, ctx):
        raise ZeroDivisionError("bug in the test")

    definition = flow(("T", {"Type": "Task", "Resource": ARN + "x",
                             "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}), ("Caught", {"Type": "Pass"}))
    with pytest.raises(ZeroDivisionError):
        run_flow(definition, validate=False, mocks={"T": mocks.call(broken)})


def test_per_run_mocks_override_the_engines():
    definition = flow(("T", {"Type": "Task", "Resource": ARN + "x"}))
    with Engine(mocks={"T": mocks.returns("engine")}, validate=False) as engine:
        assert engine.run(definition).output == "engine"
        assert engine.run(definition, mocks={"T": mocks.returns("run")}).output == "run"
        assert engine.run(definition).output == "engine"


def test_exhausted_mock_file_response_fails_with_states_runtime():
    config = load_mock_config(str(AWS_DOCS_EXAMPLE))
    retry_forever = dict(INVOKE[1], Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 10}])
    del retry_forever["ResultSelector"]
    r = run_flow(flow(("LambdaState", retry_forever)), validate=False,
                 mocks={"LambdaState": config.test_case("LambdaSQSIntegration", "RetryPath")["LambdaState"]})
    assert r.status == "SUCCEEDED"  # invocation 3 returns
    r = run_flow(flow(("LambdaState", retry_forever), ("Again", dict(retry_forever, Type="Task"))), validate=False,
                 mocks={"LambdaState": config.test_case("LambdaSQSIntegration", "HappyPath")["LambdaState"],
                        "Again": config.test_case("LambdaSQSIntegration", "HappyPath")["LambdaState"]})
    assert r.status == "SUCCEEDED"  # each state has its own counter


def test_a_mocked_callback_task_answers_at_once_as_in_step_functions_local():
    definition = flow(("Approve", {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                                   "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}}))
    r = run_flow(definition, validate=False, mocks={"Approve": mocks.returns({"approved": True})})
    assert r.output == {"approved": True}
    assert "TaskSubmitted" in r.event_types


def test_child_executions_share_the_runs_mocks():
    child = flow(("Inner", {"Type": "Task", "Resource": ARN + "inner"}))
    parent = flow(("Start", {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                             "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Child",
                                            "Input": {}}, "OutputPath": "$.Output"}))
    with Engine(validate=False, record=True) as engine:
        engine.register_state_machine("Child", child)
        r = engine.run(parent, mocks={"Inner": mocks.returns("mocked in the child"), "Never": mocks.returns(0)})
    assert r.output == "mocked in the child"
    # keys may name the children's states; "unused" counts the run and its children
    assert [w.state_path for w in r.warnings] == ["Never"]
