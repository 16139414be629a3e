"""Compile-time diagnostics: what validation cannot know because it is about AWS.

Validation (:mod:`flowengine.validate`) judges an app on its own terms.  The compiler adds
the checks that only matter for the AWS target: CodeDeploy's predefined rollouts, Lambda's
limits, permissions that cannot be derived, integrations Express workflows lack, triggers
SAM cannot express.  Each is a located :class:`Diagnostic`, like validation's, so the author
sees ``file:line:col CODE message`` either way.  The codes are FE8xx (docs/compile.md).
"""

from __future__ import annotations

from flowengine.dsl.app import LoadedApp
from flowengine.dsl.source import Pointer
from flowengine.model.asl import State
from flowengine.model.diagnostics import Diagnostic, Severity, Span

UNKNOWN_REFERENCE = "FE801"   # a name that is not a function, resource or flow of the app
WRONG_KIND = "FE802"          # a name of the wrong kind (a bucket trigger naming a queue ...)
UNKNOWN_SUBSTITUTION = "FE803"  # ${X} in a flow or an environment value that names nothing
NO_ROLLOUT_CONFIG = "FE804"   # a rollout with no CodeDeploy predefined configuration
ROLLOUT_ROUNDED = "FE805"     # (warning) a rollout interval mapped to the nearest predefined one
BAD_HOOK = "FE806"            # a traffic hook that cannot serve as one
NO_PERMISSIONS = "FE807"      # a Task whose least-privilege permissions cannot be derived
NOT_IN_EXPRESS = "FE808"      # .sync / .waitForTaskToken / activities in an EXPRESS flow
UNSUPPORTED_TRIGGER = "FE809"  # a trigger SAM cannot express
BAD_TRIGGER = "FE810"         # a trigger setting AWS would refuse
LAMBDA_LIMIT = "FE811"        # a function setting outside Lambda's limits
BAD_RESOURCE = "FE812"        # a resource setting AWS would refuse
VISIBILITY_RAISED = "FE813"   # (warning) a queue's visibility timeout raised to its consumer's timeout
CODE_MISSING = "FE814"        # the code directory (error) or the handler module (warning) is missing
NAME_CLASH = "FE815"          # two things would get the same CloudFormation logical id
BROAD_GRANT = "FE816"         # (warning) a Task's actions granted on "*", or a grant compile cannot make for it


class Reporter:
    """Collects compile diagnostics, located in the app file or in a flow's definition."""

    def __init__(self, loaded: LoadedApp) -> None:
        self.loaded = loaded
        self.diagnostics: list[Diagnostic] = []

    def at(self, ptr: Pointer, code: str, message: str, *, hint: str | None = None,
           severity: Severity = "error", key: bool = False) -> None:
        """A problem at ``ptr`` in the app file (the value, or its key with ``key=True``)."""
        src = self.loaded.source
        span = src.key_span(ptr) if key else src.span(ptr)
        self.diagnostics.append(Diagnostic(code, message, span, None, hint, severity))

    def at_state(self, state: State, fields: Pointer, code: str, message: str, *,
                 hint: str | None = None, severity: Severity = "error") -> None:
        """A problem at a field of a state (``fields`` relative to the state)."""
        src = state.loc.source
        span = src.span(state.loc.pointer + tuple(fields)) if src is not None else Span("<dict>")
        self.diagnostics.append(Diagnostic(code, message, span, state.path or None, hint, severity))

    def at_span(self, span: Span, code: str, message: str, *, state_path: str | None = None,
                hint: str | None = None, severity: Severity = "error") -> None:
        self.diagnostics.append(Diagnostic(code, message, span, state_path, hint, severity))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]
