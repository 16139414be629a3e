"""A Distributed Map's ItemReader and ResultWriter, through the engine's S3 integration.

The reader and the writer call the resources their definitions name
(``arn:aws:states:::s3:getObject``, ``arn:aws:states:::s3:listObjectsV2``,
``arn:aws:states:::s3:putObject``) through the engine's integrations, like a Task would:
:class:`~flowengine.integrations.services.LocalServices` runs them against emulated S3, a
test can stand in anything that claims those resources.  With none, the Map fails with
``States.ItemReaderFailed`` / ``States.ResultWriterFailed`` saying what to plug in.

ItemReader (``Parameters``/``Arguments`` evaluated against the state input):

* ``s3:getObject`` with ``ReaderConfig.InputType`` ``JSON`` (an array; ``ItemsPointer``
  selects one inside an object), ``JSONL`` (one value per line) or ``CSV`` (each row an
  object of strings; ``CSVHeaderLocation`` ``FIRST_ROW`` or ``GIVEN`` with ``CSVHeaders``;
  ``CSVDelimiter`` ``COMMA``/``PIPE``/``SEMICOLON``/``SPACE``/``TAB``);
* ``s3:listObjectsV2``: one item per object, ``{"Etag", "Key", "LastModified", "Size",
  "StorageClass"}``, across pages;
* ``ReaderConfig.MaxItems``/``MaxItemsPath`` (JSONata: an expression) stop reading after that
  many items (0: all).

ResultWriter (``Parameters``/``Arguments`` ``{"Bucket", "Prefix"}``): when the Map Run ends it
writes ``<Prefix>/<map run id>/SUCCEEDED_0.json`` and ``FAILED_0.json`` (the child executions'
DescribeExecution records, only the files that have records) and ``manifest.json``
(``{"DestinationBucket", "MapRunArn", "ResultFiles": {"FAILED", "PENDING", "SUCCEEDED"}}``);
the Map's result is then ``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`` in place of
the array of results, as on AWS.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowengine.engine.clock import iso
from flowengine.model.failure import ITEM_READER_FAILED, RESULT_WRITER_FAILED, RUNTIME, StatesFailure
from flowengine.engine.payload import compile_payload
from flowengine.engine.states.base import NumberSetting, compile_jsonata
from flowengine.engine.tasks import TaskRequest, UnknownResource
from flowengine.model.asl import ABSENT

if TYPE_CHECKING:
    from flowengine.engine.scope import Scope

__all__ = ["ItemReader", "IterationRecord", "ResultWriter", "parse_items"]

MAX_ITEMS_LIMIT = 100_000_000
_DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
NON_ITERABLE = "Attempting to map over non-iterable node."


class _Call:
    """The resource and its Parameters (JSONPath) or Arguments (JSONata), compiled once."""

    def __init__(self, spec: dict[str, Any], jsonata: bool, field: str) -> None:
        self.field = field
        self.resource = spec.get("Resource")
        self.jsonata = jsonata
        if jsonata:
            self.template = compile_jsonata(spec.get("Arguments", ABSENT), "Arguments")
            self.payload = None
        else:
            params = spec.get("Parameters")
            self.template = None
            self.payload = compile_payload(params) if params is not None else None

    def params(self, scope: "Scope", effective: Any, states: dict[str, Any] | None) -> dict[str, Any]:
        if self.template is not None:
            value = scope.jsonata(self.template, states or {"input": effective, "context": scope.context()})
        elif self.payload is not None:
            value = self.payload.build(effective, scope)
        else:
            value = {}
        return dict(value) if isinstance(value, dict) else {}

    async def invoke(self, scope: "Scope", params: dict[str, Any], error: str) -> Any:
        execution = scope.execution
        resource = self.resource
        if not isinstance(resource, str):
            raise StatesFailure(error, f"The {self.field} has no Resource")
        integration, target = execution.integrations.resolve(resource)
        if isinstance(integration, UnknownResource):
            raise StatesFailure(error, f"No local integration runs the {self.field} resource '{resource}': run the "
                                       "flow with the emulated S3 (flowengine run, with --object s3://BUCKET/KEY=FILE "
                                       "for the objects it reads)")
        state = scope.state
        request = TaskRequest(resource=resource, payload=params, state_name=scope.state_name,
                              state_path=state.path if state is not None else scope.state_name,
                              context=scope.context(), execution_arn=execution.arn, account=execution.account,
                              rng=scope.rng, target=target)
        try:
            return await integration.invoke(request)
        except StatesFailure as failure:
            raise StatesFailure(error, f"{failure.error}: {failure.cause}" if failure.cause else failure.error) from None


class ItemReader:
    """A compiled ItemReader; :meth:`read` returns the Map's items."""

    def __init__(self, spec: dict[str, Any], jsonata: bool) -> None:
        self.call = _Call(spec, jsonata, "ItemReader")
        config = spec.get("ReaderConfig") or {}
        self.config = config if isinstance(config, dict) else {}
        self.max_items = NumberSetting("MaxItems", self.config.get("MaxItems", ABSENT), self.config.get("MaxItemsPath"),
                                       jsonata, "integer")
        resource = self.call.resource if isinstance(self.call.resource, str) else ""
        self.listing = resource.endswith(":listObjectsV2")

    async def read(self, scope: "Scope", effective: Any, states: dict[str, Any] | None) -> list[Any]:
        limit = self.max_items.value(scope, effective, states)
        if limit is not None and limit < 0:
            raise StatesFailure(RUNTIME, f"The MaxItems value must be a non-negative integer, but was: {limit}")
        limit = min(limit or MAX_ITEMS_LIMIT, MAX_ITEMS_LIMIT)
        params = self.call.params(scope, effective, states)
        if self.listing:
            return await self._list(scope, params, limit)
        response = await self.call.invoke(scope, params, ITEM_READER_FAILED)
        body = response.get("Body", "") if isinstance(response, dict) else response
        return parse_items(body if isinstance(body, str) else json.dumps(body), self.config, limit)

    async def _list(self, scope: "Scope", params: dict[str, Any], limit: int) -> list[Any]:
        items: list[Any] = []
        token = None
        while True:
            page = dict(params)
            if token:
                page["ContinuationToken"] = token
            response = await self.call.invoke(scope, page, ITEM_READER_FAILED)
            for obj in response.get("Contents") or []:
                items.append({"Etag": obj.get("ETag"), "Key": obj.get("Key"), "LastModified": obj.get("LastModified"),
                              "Size": obj.get("Size"), "StorageClass": obj.get("StorageClass", "STANDARD")})
                if len(items) >= limit:
                    return items
            token = response.get("NextContinuationToken")
            if not response.get("IsTruncated") or not token:
                return items


def parse_items(body: str, config: dict[str, Any], limit: int = MAX_ITEMS_LIMIT) -> list[Any]:
    """The items of an object's text per ``ReaderConfig`` (InputType JSON, JSONL or CSV).
    Raises ``States.ItemReaderFailed`` for text that does not parse as that."""
    kind = config.get("InputType", "JSON")
    if kind == "JSON":
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise StatesFailure(ITEM_READER_FAILED, f"The object is not valid JSON: {exc}") from None
        pointer = config.get("ItemsPointer")
        if isinstance(pointer, str) and pointer:
            value = _pointer(value, pointer)
        if not isinstance(value, list):
            raise StatesFailure(ITEM_READER_FAILED, NON_ITERABLE)
        return value[:limit]
    if kind == "JSONL":
        items = []
        for n, line in enumerate(body.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except ValueError as exc:
                raise StatesFailure(ITEM_READER_FAILED, f"Line {n} is not valid JSON: {exc}") from None
            if len(items) >= limit:
                break
        return items
    if kind == "CSV":
        return _csv(body, config, limit)
    raise StatesFailure(ITEM_READER_FAILED, f"The local engine does not read InputType {kind!r} "
                                            "(it reads JSON, JSONL and CSV)")


def _csv(body: str, config: dict[str, Any], limit: int) -> list[dict[str, str]]:
    delimiter = _DELIMITERS.get(config.get("CSVDelimiter", "COMMA"), ",")
    rows = csv.reader(io.StringIO(body), delimiter=delimiter)
    location = config.get("CSVHeaderLocation", "FIRST_ROW")
    if location == "GIVEN":
        headers = config.get("CSVHeaders")
        if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
            raise StatesFailure(ITEM_READER_FAILED, "CSVHeaderLocation GIVEN needs CSVHeaders, a list of strings")
    else:
        headers = next(rows, [])
    if len(set(headers)) < len(headers):
        raise StatesFailure(ITEM_READER_FAILED, "CSV headers cannot contain duplicates.")
    items: list[dict[str, str]] = []
    for row in rows:
        if not row:
            continue
        items.append({h: (row[i] if i < len(row) else "") for i, h in enumerate(headers)})
        if len(items) >= limit:
            break
    return items


def _pointer(value: Any, pointer: str) -> Any:
    """RFC 6901 JSON Pointer (``/a/0/b``)."""
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise StatesFailure(ITEM_READER_FAILED, f"The ItemsPointer '{pointer}' selects nothing in the object")
    return value


@dataclass(slots=True)
class IterationRecord:
    """One child execution of a Map Run, as the ResultWriter reports it."""

    index: int
    input: Any
    status: str = "PENDING"  # PENDING (not started) | RUNNING | SUCCEEDED | FAILED | ABORTED
    start_ts: float = 0.0
    stop_ts: float = 0.0
    output: Any = None
    error: str | None = None
    cause: str | None = None


class ResultWriter:
    """A compiled ResultWriter; :meth:`write` exports a Map Run's results and returns the
    Map's result."""

    def __init__(self, spec: dict[str, Any], jsonata: bool) -> None:
        self.call = _Call(spec, jsonata, "ResultWriter")

    async def write(self, scope: "Scope", effective: Any, states: dict[str, Any] | None, *, map_run_arn: str,
                    run_id: str, records: list[IterationRecord]) -> dict[str, Any]:
        params = self.call.params(scope, effective, states)
        bucket = params.get("Bucket")
        if not isinstance(bucket, str) or not bucket:
            raise StatesFailure(RESULT_WRITER_FAILED, "The ResultWriter parameters must name a Bucket")
        prefix = params.get("Prefix") or ""
        if not isinstance(prefix, str):
            raise StatesFailure(RESULT_WRITER_FAILED, "The ResultWriter Prefix must be a string")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        base = f"{prefix}{run_id}/"
        machine_arn = map_run_arn.replace(":mapRun:", ":stateMachine:", 1).rsplit(":", 1)[0]
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        groups: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
        for record in records:
            group = {"SUCCEEDED": "SUCCEEDED", "FAILED": "FAILED", "ABORTED": "FAILED"}.get(record.status, "PENDING")
            groups[group].append(_describe(record, machine_arn, run_id))
        for group in ("SUCCEEDED", "FAILED", "PENDING"):
            if not groups[group]:
                continue
            key = f"{base}{group}_0.json"
            body = json.dumps(groups[group], separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            await self._put(scope, bucket, key, body)
            files[group].append({"Key": key, "Size": len(body)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files}
        key = f"{base}manifest.json"
        await self._put(scope, bucket, key, json.dumps(manifest, separators=(",", ":")).encode("utf-8"))
        return {"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": key}}

    async def _put(self, scope: "Scope", bucket: str, key: str, body: bytes) -> None:
        await self.call.invoke(scope, {"Bucket": bucket, "Key": key, "Body": body}, RESULT_WRITER_FAILED)


def _describe(record: IterationRecord, machine_arn: str, run_id: str) -> dict[str, Any]:
    compact = (",", ":")
    name = str(uuid.uuid5(uuid.UUID(run_id), str(record.index)))
    execution_arn = machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name
    status = record.status if record.status in ("SUCCEEDED", "FAILED", "ABORTED") else "PENDING"
    out: dict[str, Any] = {}
    if status == "FAILED":
        if record.cause is not None:
            out["Cause"] = record.cause
        if record.error is not None:
            out["Error"] = record.error
    out["ExecutionArn"] = execution_arn
    out["Input"] = json.dumps(record.input, separators=compact, ensure_ascii=False)
    out["InputDetails"] = {"Included": True}
    out["Name"] = name
    if status == "SUCCEEDED":
        out["Output"] = json.dumps(record.output, separators=compact, ensure_ascii=False)
        out["OutputDetails"] = {"Included": True}
        out["RedriveCount"] = 0
        out["RedriveStatus"] = "NOT_REDRIVABLE"
        out["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
    else:
        out["RedriveCount"] = 0
    if status != "PENDING":
        out["StartDate"] = iso(record.start_ts)
    out["StateMachineArn"] = machine_arn
    out["Status"] = status
    if status != "PENDING":
        out["StopDate"] = iso(record.stop_ts)
    return out
