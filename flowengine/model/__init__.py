"""Frozen dataclasses with no behaviour and no I/O: the contract between every stage."""

from flowengine.model.app import App, Flow, Function, Resource, Rollout, Trigger
from flowengine.model.asl import (
    ABSENT, Catcher, ChoiceRule, ChoiceState, FailState, ItemBatcher, Loc, MapState, ParallelState,
    PassState, Retrier, State, StateMachine, SucceedState, TaskState, WaitState,
)
from flowengine.model.diagnostics import Diagnostic, Span

__all__ = [
    "ABSENT", "App", "Catcher", "ChoiceRule", "ChoiceState", "Diagnostic", "FailState", "Flow", "Function",
    "ItemBatcher", "Loc", "MapState", "ParallelState", "PassState", "Resource", "Retrier", "Rollout", "Span",
    "State", "StateMachine", "SucceedState", "TaskState", "Trigger", "WaitState",
]
