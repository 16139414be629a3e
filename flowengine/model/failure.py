"""The one failure value of the local engine.

A state failure is ``(error, cause)`` with AWS's error names (``States.Runtime``,
``States.TaskFailed``, ``States.Timeout`` ...) and AWS's cause wording.  Retry, Catch and
the execution history all consume the same object, so the failure is raised as an
exception inside the interpreter and recorded as a value everywhere else.
"""

from __future__ import annotations

from typing import Any


class StatesFailure(Exception):
    """A failure of a state, in AWS's terms: an error name and a human-readable cause."""

    __slots__ = ("error", "cause")

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(error, cause)
        self.error = error
        self.cause = cause

    def __repr__(self) -> str:
        return f"StatesFailure({self.error!r}, {self.cause!r})"

    def __str__(self) -> str:
        return f"{self.error}: {self.cause}" if self.cause else self.error


# AWS's predefined error names (ASL spec, "Errors").
ALL = "States.ALL"
RUNTIME = "States.Runtime"
TIMEOUT = "States.Timeout"
TASK_FAILED = "States.TaskFailed"
PERMISSIONS = "States.Permissions"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
BRANCH_FAILED = "States.BranchFailed"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
ITEM_READER_FAILED = "States.ItemReaderFailed"
RESULT_WRITER_FAILED = "States.ResultWriterFailed"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"


def json_type_name(value: Any) -> str:
    """The JSON type of a value as AWS names it in causes (``array``, ``object``, ``number`` ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
