"""Errors the engine raises to its caller (failures *inside* an execution are values)."""

from __future__ import annotations

from flowengine.errors import FlowengineError


class DefinitionError(FlowengineError, ValueError):
    """A definition cannot be compiled: an unknown state type, a transition to nowhere, an
    expression that does not parse.

    :mod:`flowengine.validate` reports these with their locations before anything runs; the
    compiler raises this only for definitions that skipped validation.
    """
