"""Fixtures for the service-integration tests: moto's in-process AWS and an engine wired to it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

from flowengine.runtime.engine import Engine
from flowengine.integrations.services import LocalServices

REGION = "us-east-1"
ACCOUNT = "123456789012"


class Aws:
    """boto3 clients against moto (one per service), and helpers to create resources."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self.calls: list[str] = []

    def client(self, service: str) -> Any:
        self.calls.append(service)
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=REGION)
        return self._clients[service]

    def table(self, name: str = "orders", key: str = "id") -> str:
        self.client("dynamodb").create_table(
            TableName=name, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        return name

    def queue(self, name: str = "jobs") -> str:
        return str(self.client("sqs").create_queue(QueueName=name)["QueueUrl"])

    def messages(self, url: str) -> list[dict[str, Any]]:
        out = self.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in out]

    def bucket(self, name: str = "data-bucket", objects: dict[str, Any] | None = None) -> str:
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        for key, body in (objects or {}).items():
            s3.put_object(Bucket=name, Key=key, Body=body if isinstance(body, (str, bytes)) else json.dumps(body))
        return name

    def read(self, bucket: str, key: str) -> Any:
        body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)

    def keys(self, bucket: str) -> list[str]:
        return [o["Key"] for o in self.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture
def aws() -> Iterator[Aws]:
    with moto.mock_aws():
        yield Aws()


@pytest.fixture
def engine(aws: Aws) -> Iterator[Engine]:
    with Engine(integrations=[LocalServices(aws.client)], validate=False) as e:
        yield e


@pytest.fixture
def wall() -> Iterator[Any]:
    """Asserts the test's engine work took little wall time (virtual waits are free)."""
    start = time.perf_counter()

    class Wall:
        def elapsed(self) -> float:
            return time.perf_counter() - start

    yield Wall()


def task(resource: str, parameters: Any = None, **fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource}
    if parameters is not None:
        state["Parameters"] = parameters
    state.update(fields)
    state.setdefault("End", True)
    return state


def machine(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A definition from (name, state) pairs linked in order."""
    names = [n for n, _ in states]
    out: dict[str, Any] = {}
    for i, (name, state) in enumerate(states):
        state = dict(state)
        if i + 1 < len(states) and "Next" not in state and state.get("Type") not in ("Succeed", "Fail", "Choice"):
            state.pop("End", None)
            state["Next"] = names[i + 1]
        out[name] = state
    return {"StartAt": names[0], "States": out}


def events_of(result: Any, *types: str) -> list[dict[str, Any]]:
    return [e for e in result.history if not types or e["type"] in types]


def details(event: dict[str, Any]) -> dict[str, Any]:
    return next(v for k, v in event.items() if k.endswith("EventDetails"))
