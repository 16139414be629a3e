"""Exceptions flowengine raises to its callers.

One root, so ``except FlowengineError`` catches everything the library means to raise::

    FlowengineError
    ├── LoadError            a file could not be read or parsed (carries Diagnostics)
    ├── ValidationError      a definition or app file has problems (carries Diagnostics)
    ├── ExecutionInputError  an execution's input is not acceptable (not JSON, too large)
    ├── HandlerError         a function's handler could not be imported or bound
    ├── MockConfigError      a mock configuration is malformed (carries Diagnostics)
    ├── OutputExistsError    compile would overwrite files it did not write
    ├── AwsError             no credentials or region, a refused AWS call, a failed deploy
    │   └── DeployError          the stack failed: the failing resource and its reason (aws)
    ├── DefinitionError      a definition the engine cannot compile, with validate=False (engine.errors)
    ├── TransformError       the SAM transform refused a template (compile.transform)
    ├── ScaffoldError        a mock skeleton cannot be written (integrations.mockconfig)
    ├── EventError           an event the app runtime cannot deliver (events.source)
    ├── InvocationError      a function invoked directly through the app runtime failed (runtime.app)
    ├── EmulationError       the in-process AWS emulation cannot start or serve a call (events.emulation)
    ├── OfflineError         a bare Engine's handler tried to reach AWS during a run (runtime.offline)
    ├── TaskTokenError       SendTaskSuccess/Failure/Heartbeat refused, with AWS's code (engine.callbacks)
    ├── PatternError         an EventBridge pattern is invalid (lang.patterns; also ValueError)
    │   ├── FilterPolicyError    an SNS filter policy is invalid (lang.filters)
    │   └── FilterCriteriaError  a Lambda event-source filter is invalid (lang.filters)
    ├── S3FilterError        an S3 notification filter is invalid (lang.filters)
    ├── ScheduleError        a rate/cron/at expression is invalid (lang.schedule)
    └── PayloadError         an event payload cannot be generated (events.payloads)

Failures *inside* an execution are not exceptions to the caller: they are values
(``ExecutionResult.error`` / ``.cause``), exactly as AWS reports them.
"""

from __future__ import annotations

from collections.abc import Sequence

from flowengine.model.diagnostics import Diagnostic


class FlowengineError(Exception):
    """The root of every exception flowengine raises on purpose."""


class _DiagnosticsError(FlowengineError):
    def __init__(self, diagnostics: Sequence[Diagnostic], message: str | None = None) -> None:
        self.diagnostics = list(diagnostics)
        text = message or "\n".join(d.format() for d in self.diagnostics)
        super().__init__(text)


class LoadError(_DiagnosticsError):
    """A file could not be read or parsed: missing, unreadable, binary, malformed, too large."""


class ValidationError(_DiagnosticsError):
    """A definition or app file was loaded but has problems; ``diagnostics`` lists them all."""


class MockConfigError(_DiagnosticsError):
    """A mock configuration (Python or Step Functions Local MockConfigFile) is malformed."""


class ExecutionInputError(FlowengineError):
    """An execution input is not acceptable: not JSON, or over the payload limit."""


class HandlerError(FlowengineError):
    """A function's handler could not be imported or bound."""


class OutputExistsError(FlowengineError):
    """Compiling would overwrite files that flowengine did not write, or that were edited since.

    ``paths`` lists them; pass ``force=True`` (``--force``) to overwrite anyway.
    """

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        super().__init__("refusing to overwrite files flowengine did not write (or that were edited since): "
                         + ", ".join(self.paths) + "; use --force to overwrite them")


class AwsError(FlowengineError):
    """Talking to AWS failed: no credentials or region, a refused call, a failed deployment.

    The message is one line, meant for the user as is; botocore's exception, if any, is
    the ``__cause__``.
    """
