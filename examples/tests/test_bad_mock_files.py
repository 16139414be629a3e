"""A bad mock file is reported where the problem is written: FILE:LINE:COL CODE message."""

from pathlib import Path

import pytest

from flowengine.errors import MockConfigError
from flowengine.testing import load_mock_config, run_flow

HERE = Path(__file__).parent
MOCKFILES = HERE / "mockfiles"
DEFINITION = HERE / "LambdaSQSIntegration.asl.json"


def test_a_test_case_naming_a_state_the_flow_does_not_have():
    config = load_mock_config(MOCKFILES / "unknown_state.json")  # well-formed on its own ...

    with pytest.raises(MockConfigError) as error:  # ... but the flow has no state "SQSSate"
        run_flow(DEFINITION, mocks=config.test_case("LambdaSQSIntegration", "HappyPath"))

    (problem,) = error.value.diagnostics
    assert problem.format() == (f"{MOCKFILES / 'unknown_state.json'}:7:11: FE710 no state named 'SQSSate' "
                                "in the flow (did you mean 'SQSState'?)")


def test_a_malformed_invocation_range():
    with pytest.raises(MockConfigError) as error:
        load_mock_config(MOCKFILES / "malformed_range.json")

    (problem,) = error.value.diagnostics
    assert str(problem.span) == f"{MOCKFILES / 'malformed_range.json'}:12:7"
    assert problem.code == "FE705"
    assert "the range '2-1' ends before it starts" in problem.message


def test_a_test_case_naming_a_response_that_does_not_exist():
    with pytest.raises(MockConfigError) as error:
        load_mock_config(MOCKFILES / "missing_response.json")

    (problem,) = error.value.diagnostics
    assert str(problem.span) == f"{MOCKFILES / 'missing_response.json'}:7:23"
    assert problem.code == "FE704"
    assert problem.hint == "did you mean 'MockedSQSSuccess'?"
