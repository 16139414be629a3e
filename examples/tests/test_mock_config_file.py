"""An AWS Step Functions Local MockConfigFile, run unchanged.

The state machine and the mock file are the example of AWS's guide "Using mocked service
integrations for testing in Step Functions Local": ``LambdaSQSIntegration`` calls a
Lambda function (with a Retry on States.ALL) and sends the result to SQS; the test cases
``HappyPath`` and ``RetryPath`` mock both Tasks.  A test case becomes the ``mocks`` of a run.
"""

from pathlib import Path

from flowengine.testing import load_mock_config, run_flow

HERE = Path(__file__).parent
DEFINITION = HERE / "LambdaSQSIntegration.asl.json"
MOCK_CONFIG = HERE / "mockfiles" / "aws_docs_example.json"

LAMBDA_RESPONSE = {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}
SQS_RESPONSE = {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
                "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}


def test_happy_path():
    config = load_mock_config(MOCK_CONFIG)

    result = run_flow(DEFINITION, input={}, mocks=config.test_case("LambdaSQSIntegration", "HappyPath"))

    assert result.status == "SUCCEEDED"
    assert result.path == ["LambdaState", "SQSState"]
    # the mocked Lambda response is the Task's raw result: LambdaState outputs all of it,
    # and SQSState receives it as its input
    assert result.state("LambdaState").output == LAMBDA_RESPONSE
    assert result.state("SQSState")[0].input == LAMBDA_RESPONSE
    assert result.output == SQS_RESPONSE
    assert result.warnings == ()  # every mock was used


def test_retry_path():
    config = load_mock_config(MOCK_CONFIG)

    result = run_flow(DEFINITION, input={}, mocks=config.test_case("LambdaSQSIntegration", "RetryPath"))

    assert result.status == "SUCCEEDED"
    lambda_state = result.state("LambdaState")
    # invocation 0 throws, 1-2 throw, 3 returns; the retries wait 2, 4 and 8 seconds
    assert lambda_state.errors == ["Lambda.ResourceNotReadyException", "Lambda.TimeoutException",
                                   "Lambda.TimeoutException"]
    assert lambda_state[0].cause == "Lambda resource is not ready."
    assert lambda_state.retry_delays == [2, 4, 8]
    assert lambda_state.output == LAMBDA_RESPONSE
    assert result.output == SQS_RESPONSE
    # the history has the events Step Functions records for it
    types = [e["type"] for e in result.history]
    assert types.count("TaskFailed") == 3 and types.count("TaskSucceeded") == 2
