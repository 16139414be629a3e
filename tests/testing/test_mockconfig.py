"""Step Functions Local MockConfigFile: loaded unchanged, validated with located errors, scaffolded."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from flowengine.dsl.app import load
from flowengine.model.failure import StatesFailure
from flowengine.errors import FlowengineError, MockConfigError
from flowengine.model.asl import TaskState
from flowengine.integrations.mockconfig import (
    MockFileExistsError,
    ScaffoldError,
    load_mock_config,
    loads_mock_config,
    mock_config_from_dict,
    scaffold,
    scaffold_command,
    write_scaffold,
)
from flowengine.integrations.mocks import MockExhausted, MockSet

HERE = Path(__file__).resolve().parent
FILES = HERE / "mockfiles"
AWS_DOCS_EXAMPLE = HERE.parents[1] / "examples" / "tests" / "mockfiles" / "aws_docs_example.json"
ROOT = HERE.parents[1]
ORDERS = str(ROOT / "definitions" / "orders.yaml")
AWS_EXAMPLE = str(AWS_DOCS_EXAMPLE)
LAMBDA_SQS = str(FILES / "lambda_sqs_integration.asl.json")

LAMBDA_OK = {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}
SQS_OK = {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51", "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}


def answer(ex: Any, state: str, payload: object = None) -> Any:
    try:
        return ex.respond(state, state, payload)
    except StatesFailure as f:
        return ("THROW", f.error, f.cause)


def problems(path: Path | str) -> list[tuple[str, int, int]]:
    with pytest.raises(MockConfigError) as info:
        load_mock_config(str(path))
    return [(d.code, d.span.line, d.span.col) for d in info.value.diagnostics if d.severity == "error"]


@pytest.fixture(scope="module")
def aws():
    return load_mock_config(AWS_EXAMPLE)


@pytest.fixture(scope="module")
def lambda_sqs():
    return load(LAMBDA_SQS).app.flows["lambda_sqs_integration"].definition


@pytest.fixture(scope="module")
def orders():
    return load(ORDERS).app


# -- the AWS guide's example, loaded unchanged -------------------------------------------------


def test_aws_example_loads_without_warnings(aws) -> None:
    assert aws.warnings == []
    assert aws.state_machine_names() == ["LambdaSQSIntegration"]
    assert aws.test_case_names("LambdaSQSIntegration") == ["HappyPath", "RetryPath", "HybridPath"]
    assert aws.test_case_states("LambdaSQSIntegration", "HybridPath") == {"LambdaState": "MockedLambdaSuccess"}
    ranges = [(a, b) for a, b, _ in aws.responses["MockedLambdaRetry"].steps]
    assert ranges == [(0, 0), (1, 2), (3, 3)]


def test_aws_example_happy_path_call_by_call(aws) -> None:
    ms = aws.test_case("LambdaSQSIntegration", "HappyPath")
    assert isinstance(ms, MockSet) and ms.name == "LambdaSQSIntegration#HappyPath"
    ex = ms.for_execution("happy")
    assert answer(ex, "LambdaState", {"in": 1}) == LAMBDA_OK
    assert answer(ex, "SQSState", LAMBDA_OK) == SQS_OK
    # each response defines invocation 0 only: a second invocation fails loudly
    second = answer(ex, "LambdaState")
    assert second[:2] == ("THROW", "States.Runtime")
    assert "'MockedLambdaSuccess'" in second[2] and "'LambdaState'" in second[2] and "invocation 1" in second[2]
    assert ms.unused() == []


def test_aws_example_retry_path_call_by_call(aws) -> None:
    ex = aws.test_case("LambdaSQSIntegration", "RetryPath").for_execution("retry")
    not_ready = ("THROW", "Lambda.ResourceNotReadyException", "Lambda resource is not ready.")
    timed_out = ("THROW", "Lambda.TimeoutException", "Lambda timed out.")
    assert [answer(ex, "LambdaState") for _ in range(4)] == [not_ready, timed_out, timed_out, LAMBDA_OK]
    assert answer(ex, "SQSState") == SQS_OK
    with pytest.raises(MockExhausted, match="'MockedLambdaRetry'.*invocation 4.*invocations 0-3"):
        ex.respond("LambdaState", "LambdaState", None)
    # a new execution starts again from invocation 0
    assert answer(ex.mock_set.for_execution("retry-2"), "LambdaState") == not_ready


def test_aws_example_hybrid_path_mocks_one_state(aws, lambda_sqs) -> None:
    ms = aws.test_case("LambdaSQSIntegration", "HybridPath")
    assert ms.lookup("SQSState", "SQSState") is None
    assert [s.name for s in ms.unmocked_tasks(lambda_sqs)] == ["SQSState"]


def test_aws_example_checks_clean_against_its_flow(aws, lambda_sqs) -> None:
    assert aws.check("LambdaSQSIntegration", lambda_sqs) == []


def test_responses_of_one_test_case_are_shared_but_counters_are_per_state() -> None:
    cfg = loads_mock_config(json.dumps({
        "StateMachines": {"M": {"TestCases": {"T": {"A": "Seq", "B": "Seq"}}}},
        "MockedResponses": {"Seq": {"0": {"Return": 0}, "1": {"Return": 1}}},
    }), "t.json")
    ex = cfg.test_case("M", "T").for_execution("e")
    assert [answer(ex, "A"), answer(ex, "B"), answer(ex, "A"), answer(ex, "B")] == [0, 0, 1, 1]


def test_keys_may_come_in_any_order_and_ranges_may_be_wide() -> None:
    cfg = loads_mock_config(json.dumps({
        "StateMachines": {"M": {"TestCases": {"T": {"A": "R"}}}},
        "MockedResponses": {"R": {"5": {"Return": "last"}, "0-4": {"Throw": {"Error": "Busy"}}}},
    }), "t.json")
    ex = cfg.test_case("M", "T").for_execution("e")
    assert [answer(ex, "A") for _ in range(6)] == [("THROW", "Busy", None)] * 5 + ["last"]


# -- malformed files: code and FILE:LINE:COL ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad_malformed.json", [("FE105", 6, 43)]),
        ("bad_missing_section.json", [("FE701", 5, 3)]),
        ("bad_missing_test_cases.yaml", [("FE701", 4, 5)]),
        ("bad_unknown_response.json", [("FE704", 5, 47)]),
        ("bad_range_keys.json", [("FE705", 6, 7), ("FE705", 9, 7), ("FE705", 13, 7)]),
        ("bad_overlap.json", [("FE706", 6, 7)]),
        ("bad_gaps.json", [("FE707", 6, 7), ("FE707", 9, 7)]),
        ("bad_return_and_throw.json", [("FE708", 7, 9), ("FE708", 11, 7)]),
        ("bad_throw_without_error.json", [("FE709", 5, 13), ("FE709", 8, 32)]),
        ("bad_types.json", [("FE702", 2, 20), ("FE702", 5, 20)]),
        ("bad_duplicate_state.json", [("FE107", 7, 11)]),
    ],
)
def test_malformed_files_are_reported_where_the_problem_is(name: str, expected: list) -> None:
    assert problems(FILES / name) == expected


def test_messages_say_what_and_hint_how(aws) -> None:
    with pytest.raises(MockConfigError) as info:
        load_mock_config(str(FILES / "bad_unknown_response.json"))
    (d,) = info.value.diagnostics
    assert d.message == "test case 'Happy' uses mocked response 'MockedBSucess', which MockedResponses does not define"
    assert d.hint == "did you mean 'MockedBSuccess'?"
    assert str(info.value).startswith(f"{FILES / 'bad_unknown_response.json'}:5:47: FE704 ")

    with pytest.raises(MockConfigError) as info:
        load_mock_config(str(FILES / "bad_missing_section.json"))
    assert [d.hint for d in info.value.diagnostics] == ["'MockedResponse' should be spelled 'MockedResponses'"]

    with pytest.raises(MockConfigError) as info:
        load_mock_config(str(FILES / "bad_return_and_throw.json"))
    assert info.value.diagnostics[1].hint == "did you mean 'Return'?"

    with pytest.raises(MockConfigError) as info:
        load_mock_config(str(FILES / "bad_range_keys.json"))
    assert info.value.diagnostics[0].message == "mocked response 'Reversed': the range '3-2' ends before it starts"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [("FE104", 1, 1)]),
        ("[]", [("FE701", 1, 1)]),
        ("{}", [("FE701", 1, 1), ("FE701", 1, 1)]),
        ('{"StateMachines": {"M": []}, "MockedResponses": {}}', [("FE702", 1, 25)]),
        ('{"StateMachines": {"M": {"TestCases": {"T": {"A": 3}}}}, "MockedResponses": {}}', [("FE702", 1, 51)]),
        ('{"StateMachines": {}, "MockedResponses": {"R": {"0": "ok"}}}', [("FE702", 1, 54)]),
        ('{"StateMachines": {}, "MockedResponses": {"R": {"0": {"Throw": "Busy"}}}}', [("FE702", 1, 64)]),
        ('{"StateMachines": {}, "MockedResponses": {"R": {"0": {"Throw": {"Error": "E", "Cause": 1}}}}}',
         [("FE702", 1, 88)]),
        ('{"StateMachines": {}, "MockedResponses": {"R": {"-1": {"Return": 1}}}}', [("FE705", 1, 49)]),
        ('{"StateMachines": {}, "MockedResponses": {"R": {"0": {"Return": 1}, "0-0": {"Return": 2}}}}',
         [("FE706", 1, 69)]),
    ],
)
def test_more_malformed_documents(text: str, expected: list) -> None:
    with pytest.raises(MockConfigError) as info:
        loads_mock_config(text, "m.json")
    assert [(d.code, d.span.line, d.span.col) for d in info.value.diagnostics if d.severity == "error"] == expected


def test_a_malformed_key_does_not_also_report_a_gap() -> None:
    text = '{"StateMachines": {}, "MockedResponses": {"R": {"0": {"Return": 1}, "x": {"Return": 2}, "2": {"Return": 3}}}}'
    with pytest.raises(MockConfigError) as info:
        loads_mock_config(text, "m.json")
    assert [d.code for d in info.value.diagnostics] == ["FE705"]


def test_a_missing_file_is_a_mock_config_error() -> None:
    with pytest.raises(MockConfigError) as info:
        load_mock_config(str(FILES / "no-such-file.json"))
    assert info.value.diagnostics[0].code == "FE101"
    assert isinstance(info.value, FlowengineError)


def test_warnings_do_not_stop_the_load() -> None:
    text = """{
  "StateMachines": {"M": {"TestCases": {"T": {"A": "Empty"}}, "Comment": "x"}},
  "MockedResponses": {
    "Empty": {},
    "R": {"0": {"Return": 1, "Note": "extra"}}
  },
  "Version": 1
}"""
    cfg = loads_mock_config(text, "w.json")
    assert [(d.code, d.span.line, d.span.col) for d in cfg.warnings] == [
        ("FE703", 2, 63), ("FE714", 4, 5), ("FE703", 5, 30), ("FE703", 7, 3),
    ]
    assert all(d.severity == "warning" for d in cfg.warnings)
    # a state using an empty response fails on its first invocation
    with pytest.raises(MockExhausted, match="'Empty'.*no invocations"):
        cfg.test_case("M", "T").for_execution("e").respond("A", "A", None)


def test_empty_collections_are_fine() -> None:
    cfg = loads_mock_config('{"StateMachines": {"M": {"TestCases": {"T": {}}}}, "MockedResponses": {}}', "e.json")
    assert len(cfg.test_case("M", "T")) == 0 and cfg.warnings == []


def test_the_same_structure_in_yaml_and_in_a_dict(aws) -> None:
    data = json.loads(Path(AWS_EXAMPLE).read_text())
    import yaml

    from_yaml = loads_mock_config(yaml.safe_dump(data), "mocks.yaml")
    from_dict = mock_config_from_dict(data)
    for cfg in (from_yaml, from_dict):
        ex = cfg.test_case("LambdaSQSIntegration", "RetryPath").for_execution("e")
        assert [answer(ex, "LambdaState")[1] for _ in range(3)] == [
            "Lambda.ResourceNotReadyException", "Lambda.TimeoutException", "Lambda.TimeoutException"]


# -- test cases and checks against a flow -------------------------------------------------------


def test_unknown_machine_and_test_case_names(aws) -> None:
    with pytest.raises(MockConfigError) as info:
        aws.test_case("LambdaSQSIntegratoin", "HappyPath")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("FE712", 2, 3)
    assert d.hint == "did you mean 'LambdaSQSIntegration'?"
    with pytest.raises(MockConfigError) as info:
        aws.test_case("LambdaSQSIntegration", "happypath")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.col, d.hint) == ("FE713", 4, 7, "did you mean 'HappyPath'?")


def test_check_names_states_missing_from_the_flow(lambda_sqs) -> None:
    cfg = load_mock_config(str(FILES / "check_states.json"))
    diags = cfg.check("LambdaSQSIntegration", lambda_sqs)
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("FE710", 6, 11), ("FE710", 8, 11)]
    assert diags[0].message == "no state named 'LambdaStat' in the flow"
    assert diags[0].hint == "did you mean 'LambdaState'?"
    assert "LambdaState" in (diags[1].hint or "")
    assert diags[0].format().startswith(f"{FILES / 'check_states.json'}:6:11: FE710 ")
    (unknown,) = cfg.check("Other", lambda_sqs)
    assert unknown.code == "FE712"


def test_check_names_states_that_are_not_tasks(orders) -> None:
    cfg = loads_mock_config("""{
  "StateMachines": {"PlaceOrder": {"TestCases": {"T": {
    "CheckSize": "R",
    "Fulfil": "R",
    "Ship/ShipOne": "R",
    "Fulfil/0/ReserveAll/Reserve": "R"
  }}}},
  "MockedResponses": {"R": {"0": {"Return": {}}}}
}""", "orders-mocks.json")
    diags = cfg.check("PlaceOrder", orders.flows["PlaceOrder"].definition)
    assert [(d.code, d.span.line, d.span.col, d.state_path) for d in diags] == [
        ("FE711", 3, 5, "CheckSize"), ("FE711", 4, 5, "Fulfil")]
    assert "Choice" in diags[0].message and "Parallel" in diags[1].message


# -- scaffold -----------------------------------------------------------------------------------


def test_scaffold_for_orders_covers_every_task_and_loads(orders, tmp_path: Path) -> None:
    data = scaffold(orders, "PlaceOrder")
    flow = orders.flows["PlaceOrder"].definition
    cases = data["StateMachines"]["PlaceOrder"]["TestCases"]
    assert list(cases) == ["HappyPath"]
    assert list(cases["HappyPath"]) == ["Validate", "Reserve", "Charge", "ShipOne", "Notify"]
    # Validate's result is read on: CheckSize compares $.total (the first rule leads on: > 1000),
    # the Map iterates $.items and its ItemSelector reads orderId, sku and quantity
    validated = data["MockedResponses"]["MockedValidateSuccess"]["0"]["Return"]
    assert validated["total"] > 1000
    assert set(validated) == {"orderId", "items", "total"} and set(validated["items"][0]) == {"sku", "quantity"}
    # Tasks inside a Map answer one invocation per item
    assert list(data["MockedResponses"]["MockedShipOneSuccess"]) == ["0-99"]
    assert list(data["MockedResponses"]["MockedReserveSuccess"]) == ["0-99"]

    path = tmp_path / "MockConfigFile.json"
    write_scaffold(str(path), data)
    cfg = load_mock_config(str(path))
    assert cfg.warnings == []
    assert cfg.check("PlaceOrder", flow) == []
    ms = cfg.test_case("PlaceOrder", "HappyPath")
    assert ms.unmocked_tasks(flow) == []
    tasks = [s for s in flow.walk() if isinstance(s, TaskState)]
    assert len(ms) == len(tasks) == 5


def test_scaffold_is_deterministic(orders) -> None:
    assert json.dumps(scaffold(orders, "PlaceOrder")) == json.dumps(scaffold(load(ORDERS), "PlaceOrder"))


def test_scaffold_placeholders_by_resource() -> None:
    asl = {
        "StartAt": "Invoke",
        "States": {
            "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Plain"},
            "Plain": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "Next": "Sub"},
            "Sub": {"Type": "Task", "Resource": "${FnArn}", "Next": "Put"},
            "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "Next": "Send"},
            "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Next": "Publish"},
            "Publish": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": "Token"},
            "Token": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "Next": "Sdk"},
            "Sdk": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "End": True},
        },
    }
    from flowengine.dsl.app import from_value

    data = scaffold(from_value(asl, "svc.asl.json"), "svc")
    first = {state: data["MockedResponses"][resp]["0"]["Return"]
             for state, resp in data["StateMachines"]["svc"]["TestCases"]["HappyPath"].items()}
    assert first["Invoke"] == first["Token"] == {"StatusCode": 200, "Payload": {}}
    assert first["Plain"] == first["Sub"] == first["Put"] == first["Sdk"] == {}
    assert set(first["Send"]) == {"MessageId", "MD5OfMessageBody"} and len(first["Send"]["MD5OfMessageBody"]) == 32
    assert set(first["Publish"]) == {"MessageId"}
    assert first["Send"]["MessageId"] != first["Publish"]["MessageId"]


def test_scaffold_keys_tasks_that_share_a_name_by_path() -> None:
    from flowengine.dsl.app import from_value

    branch = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "${FArn}", "End": True}}}
    asl = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [branch, branch], "End": True}}}
    data = scaffold(from_value(asl, "dup.asl.json"), "dup", test_case="Both")
    states = data["StateMachines"]["dup"]["TestCases"]["Both"]
    assert states == {"P/0/Work": "MockedWorkSuccess", "P/1/Work": "MockedP1WorkSuccess"}
    cfg = mock_config_from_dict(data)
    assert cfg.check("dup", from_value(asl, "dup.asl.json").app.flows["dup"].definition) == []


def test_scaffold_unknown_flow(orders) -> None:
    with pytest.raises(ScaffoldError, match="did you mean 'PlaceOrder'"):
        scaffold(orders, "PlaceOrders")


def test_write_scaffold_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "mocks.json"
    write_scaffold(str(path), {"StateMachines": {}, "MockedResponses": {}})
    with pytest.raises(MockFileExistsError, match="--force") as info:
        write_scaffold(str(path), {"StateMachines": {"X": {"TestCases": {}}}, "MockedResponses": {}})
    assert isinstance(info.value, FlowengineError)
    assert json.loads(path.read_text()) == {"StateMachines": {}, "MockedResponses": {}}
    write_scaffold(str(path), {"StateMachines": {"X": {"TestCases": {}}}, "MockedResponses": {}}, force=True)
    assert load_mock_config(str(path)).state_machine_names() == ["X"]


def test_write_scaffold_as_yaml(orders, tmp_path: Path) -> None:
    path = tmp_path / "mocks.yaml"
    write_scaffold(str(path), scaffold(orders, "PlaceOrder"))
    assert not path.read_text().lstrip().startswith("{")
    assert load_mock_config(str(path)).test_case_names("PlaceOrder") == ["HappyPath"]


def test_scaffold_command(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert scaffold_command(ORDERS, "PlaceOrder", None, stdout=out, stderr=err) == 0
    assert json.loads(out.getvalue())["StateMachines"]["PlaceOrder"]["TestCases"]["HappyPath"]["Validate"]

    target = tmp_path / "MockConfigFile.json"
    err = io.StringIO()
    assert scaffold_command(ORDERS, "PlaceOrder", str(target), False, stderr=err) == 0
    assert "5 Task states" in err.getvalue()
    err = io.StringIO()
    assert scaffold_command(ORDERS, "PlaceOrder", str(target), False, stderr=err) == 2
    assert "--force" in err.getvalue()
    assert scaffold_command(ORDERS, "PlaceOrder", str(target), True, stderr=io.StringIO()) == 0

    err = io.StringIO()
    assert scaffold_command(ORDERS, "Nope", None, stderr=err) == 2
    assert "PlaceOrder" in err.getvalue()
    err = io.StringIO()
    assert scaffold_command(str(tmp_path / "missing.yaml"), "X", None, stderr=err) == 2
    assert "FE101" in err.getvalue()
    # one flow: --flow may be left out
    out = io.StringIO()
    assert scaffold_command(LAMBDA_SQS, None, None, stdout=out, stderr=io.StringIO()) == 0
    assert list(json.loads(out.getvalue())["StateMachines"]) == ["lambda_sqs_integration"]
