"""The app model: functions, resources, flows and the triggers that chain them.

An app file desugars (:mod:`flowengine.dsl.app`) into these frozen dataclasses, with each
flow's definition in canonical ASL.  A plain ASL file becomes an App with one flow and no
functions, so every later stage has one input shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from flowengine.model.asl import Loc, StateMachine

ResourceKind = Literal["bucket", "queue", "topic", "table", "event_bus"]
RESOURCE_KINDS: tuple[str, ...] = ("bucket", "queue", "topic", "table", "event_bus")


@dataclass(frozen=True, slots=True)
class Rollout:
    """How a new version of a function shifts traffic (CodeDeploy, via SAM DeploymentPreference).

    ``strategy`` is ``all-at-once``, ``canary`` or ``linear``; ``percent`` and
    ``interval_minutes`` give the step (Canary10Percent5Minutes is canary, 10, 5).
    """

    strategy: Literal["all-at-once", "canary", "linear"] = "all-at-once"
    percent: int | None = None
    interval_minutes: int | None = None
    alarms: tuple[str, ...] = ()
    pre_traffic_hook: str | None = None
    post_traffic_hook: str | None = None
    loc: Loc = field(default_factory=Loc)


@dataclass(frozen=True, slots=True)
class Function:
    """A Lambda-style Python handler of the app."""

    name: str
    handler: str  # "package.module.function"
    runtime: str = "python3.12"
    timeout_seconds: int = 3
    memory_mb: int = 128
    concurrency: int | None = None  # ReservedConcurrentExecutions; None = unreserved
    code_uri: str = "."
    rollout: Rollout | None = None
    environment: dict[str, str] = field(default_factory=dict)
    reads: tuple[str, ...] = ()  # resource names the function reads
    writes: tuple[str, ...] = ()  # resource names the function writes (event-loop check, IAM)
    local_duration_seconds: float | None = None  # modelled time of a local invocation; not compiled
    #: absolute directories this function's handler imports from, first: a SAM function's
    #: CodeUri and local Layers (empty: the app's ``code_paths``)
    code_paths: tuple[str, ...] = ()
    loc: Loc = field(default_factory=Loc)

    @property
    def module(self) -> str:
        """The module Lambda's Python runtime imports: ``src/app.handler`` → ``src.app``."""
        return self.handler.rpartition(".")[0].replace("/", ".")

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True, slots=True)
class Resource:
    """A bucket, queue, topic, table or event bus.  ``properties`` keeps kind-specific settings
    (snake_case as written: ``visibility_timeout``, ``dead_letter``, ``key``, ...)."""

    name: str
    kind: str
    properties: dict[str, Any] = field(default_factory=dict)
    loc: Loc = field(default_factory=Loc)


@dataclass(frozen=True, slots=True)
class Trigger:
    """What starts a flow or invokes a function.

    ``source`` is one of ``bucket``, ``queue``, ``topic``, ``schedule``, ``event_pattern``,
    ``api``.  ``resource`` names the app resource (None for schedules and the default bus).
    ``target`` names a flow or a function (``target_kind`` says which).  ``options`` keeps
    the source's settings as written: events, prefix, suffix, batch_size, batching_window,
    filter_policy, expression, pattern, via_eventbridge, ...
    """

    source: str
    target: str
    target_kind: Literal["flow", "function"]
    resource: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    loc: Loc = field(default_factory=Loc)


@dataclass(frozen=True, slots=True)
class Flow:
    """A state machine of the app.  ``asl`` is the canonical ASL dict, exactly what compiles.

    ``policies`` are the permissions the author declares for the state machine on top of what
    compile derives from the definition, each as SAM's ``Policies`` property takes it (a managed
    policy name or ARN, a SAM policy template, a policy document), ``${X}`` placeholders
    unresolved.  The local engine does not read them.
    """

    name: str
    definition: StateMachine
    asl: dict[str, Any]
    type: Literal["STANDARD", "EXPRESS"] = "STANDARD"
    logging: bool = False
    tracing: bool = False
    policies: tuple[Any, ...] = ()
    loc: Loc = field(default_factory=Loc)


@dataclass(frozen=True, slots=True)
class App:
    """An application: what the app file describes (or one plain ASL definition)."""

    name: str
    functions: dict[str, Function] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    triggers: tuple[Trigger, ...] = ()
    code_paths: tuple[str, ...] = ()  # absolute directories handler modules import from
    source_path: str | None = None
    description: str | None = None
    plain_asl: bool = False  # loaded from a plain ASL file rather than an app file
    loc: Loc = field(default_factory=Loc)
