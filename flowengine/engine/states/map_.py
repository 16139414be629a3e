"""Map: runs the ItemProcessor (or legacy Iterator) once per item, results in item order.

Items come from ``ItemsPath`` (JSONPath) or ``Items`` (JSONata; default the state input)
and must form an array.  ``ItemSelector`` (legacy ``Parameters``) builds each iteration's
input with ``$$.Map.Item.Index``/``Value``; ``ItemBatcher`` groups items into
``{"BatchInput": ..., "Items": [...]}``.  ``MaxConcurrency`` bounds the iterations in
flight (0 = no limit) with a fixed pool of asyncio workers, never a thread per item.

Failures: ``ToleratedFailureCount``/``Percentage`` (and their Path/JSONata forms) let that
many iterations fail; beyond it the Map fails with ``States.ExceedToleratedFailureThreshold``.
With no tolerance an INLINE Map fails with the first failing iteration's own error.

``DISTRIBUTED`` mode (over inline items) runs each iteration as a child execution: its
states are recorded in the child's own history (it sees none of the parent's variables),
and the parent records ``MapRunStarted`` / ``MapRunSucceeded`` / ``MapRunFailed`` instead
of iteration events.  Without a tolerance, any failed child fails the Map Run with
``States.ExceedToleratedFailureThreshold``.

``ItemReader`` (items from S3) and ``ResultWriter`` (results to S3) go through the engine's
integrations: :mod:`flowengine.engine.itemreader`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from flowengine.engine.context import current_map_index
from flowengine.engine.execution import run_scope
from flowengine.model.failure import QUERY_EVALUATION_ERROR, RUNTIME, StatesFailure
from flowengine.engine.history import History, failure_details
from flowengine.lang.jsonpath import (
    PathNotFound,
    compile_path,
    dumps,
    missing_property_cause,
)
from flowengine.engine.options import new_uuid
from flowengine.engine.payload import compile_payload, optional_payload
from flowengine.engine.scope import Scope, byte_size
from flowengine.engine.states.base import NumberSetting, WorkNode, compile_jsonata, jsonata_states
from flowengine.engine.states.parallel import run_all
from flowengine.engine.itemreader import IterationRecord, ItemReader, ResultWriter
from flowengine.model.asl import ABSENT, MapState

if TYPE_CHECKING:
    from flowengine.engine.compiler import Compiler, Program

EXCEED_TOLERATED = "States.ExceedToleratedFailureThreshold"
THRESHOLD_EXCEEDED = "The specified tolerated failure threshold was exceeded"


class MapNode(WorkNode):
    type = "Map"
    takes_parameters = False  # Map's Parameters is the legacy spelling of ItemSelector

    def __init__(self, state: MapState, compiler: "Compiler") -> None:
        super().__init__(state, compiler)
        self.distributed = state.mode == "DISTRIBUTED"
        self.processor: Program | None = compiler.program(state.processor) if state.processor is not None else None
        self.label = state.label or state.name
        jsonata = self.jsonata
        selector = state.item_selector if state.item_selector is not ABSENT else state.parameters
        # JSONata templates in JSONata mode, payload templates in JSONPath mode.
        self.items: Any
        self.item_selector: Any
        self.batch_input: Any = None
        if jsonata:
            self.items_path = None
            self.items = compile_jsonata(state.items, "Items") if state.items is not ABSENT else None
            self.item_selector = compile_jsonata(selector, "ItemSelector") if selector is not ABSENT else None
        else:
            self.items_path = None if state.items_path in ("$", None) else compile_path(state.items_path)
            self.items = None
            self.item_selector = optional_payload(selector)
        self.max_concurrency = NumberSetting("MaxConcurrency", state.max_concurrency, state.max_concurrency_path,
                                        jsonata, "integer")
        self.tolerated_count = NumberSetting("ToleratedFailureCount", state.tolerated_failure_count,
                                        state.tolerated_failure_count_path, jsonata, "integer")
        self.tolerated_percentage = NumberSetting("ToleratedFailurePercentage", state.tolerated_failure_percentage,
                                             state.tolerated_failure_percentage_path, jsonata, "float")
        self.reader = ItemReader(state.item_reader, jsonata) if isinstance(state.item_reader, dict) else None
        self.writer = ResultWriter(state.result_writer, jsonata) if isinstance(state.result_writer, dict) else None
        self.batcher = state.item_batcher
        if self.batcher is not None:
            b = self.batcher
            self.batch_items = NumberSetting("MaxItemsPerBatch", b.max_items_per_batch, b.max_items_per_batch_path,
                                        jsonata, "integer")
            self.batch_bytes = NumberSetting("MaxInputBytesPerBatch", b.max_input_bytes_per_batch,
                                        b.max_input_bytes_per_batch_path, jsonata, "integer")
            bi = b.batch_input
            self.batch_input = None if bi is ABSENT else (compile_jsonata(bi, "BatchInput") if jsonata
                                                          else compile_payload(bi))

    # -- the attempt ---------------------------------------------------------------------

    async def attempt(self, scope: "Scope", data: Any) -> tuple[Any, dict[str, Any] | None]:
        states = jsonata_states(scope, data) if self.jsonata else {}
        effective = data if self.jsonata else (self.input_path(data, scope) if self.input_path is not None else data)
        max_concurrency = self.max_concurrency.value(scope, effective, states)
        if max_concurrency is not None and max_concurrency < 0:
            raise StatesFailure(RUNTIME, "MaxConcurrency cannot be negative.")
        if self.reader is not None:
            items = await self.reader.read(scope, effective, states)
        else:
            items = self._items(scope, data, effective, states)
        scope.record("MapStateStarted", "mapStateStartedEventDetails", {"length": len(items)})
        tolerated = self._tolerance(scope, effective, states)
        inputs = [self._item_input(scope, data, effective, i, item) for i, item in enumerate(items)]
        if self.batcher is not None:
            inputs = self._batches(scope, data, effective, states, inputs)
        arn = run_id = ""
        if self.distributed or self.writer is not None:
            execution = scope.execution
            run_id = new_uuid(scope.rng)
            arn = execution.account.map_run_arn(execution.state_machine_name, self.label, run_id)
        if self.distributed:
            scope.record("MapRunStarted", "mapRunStartedEventDetails", {"mapRunArn": arn})
        records = [IterationRecord(i, x) for i, x in enumerate(inputs)] if self.writer is not None else None
        try:
            results: Any = await self._iterate(scope, inputs, int(max_concurrency or 0), tolerated, records)
        except StatesFailure as failure:
            if self.writer is not None and records is not None:
                # AWS exports a failed Map Run's results too (FAILED_n / PENDING_n); the
                # Map Run's own failure is the one to report
                with contextlib.suppress(StatesFailure):
                    await self.writer.write(scope, effective, states, map_run_arn=arn, run_id=run_id,
                                            records=records)
            if self.distributed:
                scope.record("MapRunFailed", "mapRunFailedEventDetails", failure_details(failure.error, failure.cause))
            failure.from_children = True  # type: ignore[attr-defined]
            raise
        if self.writer is not None and records is not None:
            results = await self.writer.write(scope, effective, states, map_run_arn=arn, run_id=run_id,
                                              records=records)
        if self.distributed:
            scope.record("MapRunSucceeded")
        scope.record("MapStateSucceeded")
        return self.finish(scope, data, results)

    def failed(self, scope: "Scope", failure: StatesFailure) -> None:
        # Recorded once the state has failed for good (not before a retry).  AWS records no
        # MapStateFailed when the Map's own settings fail with States.Runtime.
        if failure.error != RUNTIME or getattr(failure, "from_children", False):
            scope.record("MapStateFailed")

    def _items(self, scope: "Scope", data: Any, effective: Any, states: dict[str, Any]) -> list[Any]:
        if self.jsonata:
            if self.items is None:
                items = data
                if not isinstance(items, list):
                    raise StatesFailure(QUERY_EVALUATION_ERROR,
                                        f"Map state input must be an array but was: {dumps(items)}")
                return items
            items = scope.jsonata(self.items, states)
            if not isinstance(items, list):
                if self.items.expression is not None:
                    raise self.items.type_failure("array", items)
                raise StatesFailure(QUERY_EVALUATION_ERROR, f"The Items field must be an array but was: {dumps(items)}")
            return items
        if self.items_path is None:
            items = effective
        else:
            try:
                items = self.items_path.resolve(effective, scope.context, scope.variables)
            except PathNotFound as exc:
                raise StatesFailure(RUNTIME, missing_property_cause(self.items_path, exc)) from None
        if not isinstance(items, list):
            raise StatesFailure(RUNTIME, f"Map state input must be an array but was: {dumps(items)}")
        return items

    def _tolerance(self, scope: "Scope", effective: Any, states: dict[str, Any]) -> tuple[float, float] | None:
        if not (self.tolerated_count.present or self.tolerated_percentage.present):
            return None
        count = self.tolerated_count.value(scope, effective, states)
        if count is not None and count < 0:
            raise StatesFailure(RUNTIME, "ToleratedFailureCount cannot be negative.")
        pct = self.tolerated_percentage.value(scope, effective, states)
        if pct is not None and not 0 <= pct <= 100:
            raise StatesFailure(RUNTIME, "ToleratedFailurePercentage must be between 0 and 100.")
        return (float("inf") if count is None else count, float("inf") if pct is None else pct)

    def _item_input(self, scope: "Scope", data: Any, effective: Any, index: int, item: Any) -> Any:
        if self.item_selector is None:
            return item
        env = scope.item_env(index, item)
        if self.jsonata:
            states = {"input": data, "context": env.context()}
            return scope.jsonata(self.item_selector, states)
        return self.item_selector.build(effective, env)

    def _batches(self, scope: "Scope", data: Any, effective: Any, states: dict[str, Any],
                 inputs: list[Any]) -> list[Any]:
        max_items = self.batch_items.value(scope, effective, states)
        max_bytes = self.batch_bytes.value(scope, effective, states) or scope.execution.limits.max_payload_bytes
        batch_input = None
        if self.batch_input is not None:
            batch_input = (scope.jsonata(self.batch_input, states) if self.jsonata
                           else self.batch_input.build(effective, scope))
        batches: list[list[Any]] = []
        current: list[Any] = []
        size = 0
        for item in inputs:
            item_size = byte_size(dumps(item))
            if current and ((max_items and len(current) >= max_items) or size + item_size > max_bytes):
                batches.append(current)
                current, size = [], 0
            current.append(item)
            size += item_size
        if current:
            batches.append(current)
        if batch_input is None:
            return [{"Items": b} for b in batches]
        return [{"BatchInput": batch_input, "Items": b} for b in batches]

    # -- iterations ----------------------------------------------------------------------

    async def _iterate(self, scope: "Scope", inputs: list[Any], max_concurrency: int,
                       tolerated: tuple[float, float] | None,
                       records: list[IterationRecord] | None = None) -> list[Any]:
        n = len(inputs)
        results: list[Any] = [None] * n
        # Tolerance counts items: a failed batch fails every item in it.
        weights = [len(x["Items"]) for x in inputs] if self.batcher is not None else None
        total = sum(weights) if weights is not None else n
        failed = [0]
        execution = scope.execution
        program = self.processor
        assert program is not None
        name = self.name
        distributed = self.distributed

        async def one(i: int) -> None:
            record = records[i] if records is not None else None
            if record is not None:
                record.status, record.start_ts = "RUNNING", execution.now()
            if distributed:
                # A child workflow execution: its own history, and no access to the parent's variables.
                child = Scope(execution, {}, "iteration", 0, history=History(execution.limits.max_history_events))
                execution.child_histories.append(child.history)
            else:
                child = Scope(execution, dict(scope.variables), "iteration", scope.last)
                child.record("MapIterationStarted", "mapIterationStartedEventDetails", {"index": i, "name": name})
            try:
                index = current_map_index.set(i)  # what mocks (ctx.map_index) and traces read
                try:
                    results[i] = await run_scope(program, child, inputs[i])
                finally:
                    current_map_index.reset(index)
            except StatesFailure as failure:
                if record is not None:
                    record.status, record.stop_ts = "FAILED", execution.now()
                    record.error, record.cause = failure.error, failure.cause
                if not distributed:
                    child.record("MapIterationFailed", "mapIterationFailedEventDetails", {"index": i, "name": name})
                failed[0] += weights[i] if weights is not None else 1
                results[i] = {"Error": failure.error, "Cause": failure.cause}
                if tolerated is None:
                    if distributed:
                        raise StatesFailure(EXCEED_TOLERATED, THRESHOLD_EXCEEDED) from None
                    raise
                count, pct = tolerated
                if failed[0] > count or (failed[0] * 100.0 / total) > pct:
                    raise StatesFailure(EXCEED_TOLERATED, THRESHOLD_EXCEEDED) from None
                return
            except asyncio.CancelledError:
                if record is not None:
                    record.status, record.stop_ts = "ABORTED", execution.now()
                if not distributed and not execution.stopping:
                    child.record("MapIterationAborted", "mapIterationAbortedEventDetails", {"index": i, "name": name})
                raise
            if record is not None:
                record.status, record.stop_ts, record.output = "SUCCEEDED", execution.now(), results[i]
            if not distributed:
                child.record("MapIterationSucceeded", "mapIterationSucceededEventDetails", {"index": i, "name": name})

        if n == 0:
            return results
        workers = n if max_concurrency <= 0 else min(n, max_concurrency)
        if not distributed:
            # Each inline iteration records MapIterationStarted as it starts, so no more
            # iterations than the history has room for can start before the limit stops the
            # execution: more workers would change nothing but the memory they take.
            workers = max(1, min(workers, scope.history.remaining))
        if workers == 1:
            for i in range(n):
                await one(i)
            return results
        indices = iter(range(n))

        async def worker() -> None:
            for i in indices:
                await one(i)

        await run_all([worker() for _ in range(workers)])
        return results
