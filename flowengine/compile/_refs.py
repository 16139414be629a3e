"""How the template names and addresses each thing of the app.

Logical ids are the app's own names (docs/app-file.md: names are CloudFormation logical
ids).  A ``${X}`` placeholder resolves the way docs/app-file.md tables it, and the local
engine resolves it the same way against its emulated resources:

=================  ==============================  ==============================
placeholder        value                           CloudFormation
=================  ==============================  ==============================
``${Bucket}``      the bucket's name               explicit stack-unique name
``${Queue}``       the queue's URL                 ``!Ref Queue``
``${Topic}``       the topic's ARN                 ``!Ref Topic``
``${Table}``       the table's name                ``!Ref Table``
``${Bus}``         the event bus's name            ``!Ref Bus``
``${Function}``    the function's name             ``!Ref Function``
``${Flow}``        the state machine's name        ``${AWS::StackName}-Flow``
``${XArn}``        X's ARN                         per kind; a function with a rollout
                                                   gives its ``live`` alias
=================  ==============================  ==============================

References never create a dependency that could close a cycle: buckets and state machines
are named explicitly and referenced by constructed name/ARN (research/sam.md §1.3, §4.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowengine.compile._cfn import CFN, arn_sub, bucket_name, get_att, ref, stack_scoped, sub
from flowengine.model.app import App

ALIAS = "live"


@dataclass(frozen=True, slots=True)
class Entity:
    """A named thing of the app that a template can point at."""

    kind: str  # bucket | queue | topic | table | event_bus | function | flow
    name: str


class Refs:
    """Resolves names and ``${X}`` placeholders of one app to CloudFormation values."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.entities: dict[str, Entity] = {}
        for name, fn in app.functions.items():
            self.entities[name] = Entity("function", name)
        for name in app.flows:
            self.entities.setdefault(name, Entity("flow", name))
        for name, res in app.resources.items():
            self.entities.setdefault(name, Entity(res.kind, name))

    def entity(self, name: Any) -> Entity | None:
        return self.entities.get(name) if isinstance(name, str) else None

    def resolve(self, placeholder: str) -> tuple[Entity, bool] | None:
        """``${X}`` → (entity, wants_arn); exact names win over the ``Arn`` suffix."""
        if placeholder in self.entities:
            return self.entities[placeholder], False
        if placeholder.endswith("Arn") and placeholder[:-3] in self.entities:
            return self.entities[placeholder[:-3]], True
        return None

    def value(self, placeholder: str) -> CFN | None:
        found = self.resolve(placeholder)
        if found is None:
            return None
        entity, wants_arn = found
        return self.arn(entity) if wants_arn else self.address(entity)

    # --- values per kind ----------------------------------------------------------------

    def address(self, e: Entity) -> CFN:
        """What ``${X}`` gives: the name, URL or ARN a client call takes."""
        if e.kind == "bucket":
            return bucket_name(self.app.name, e.name)
        if e.kind == "flow":
            return self.state_machine_name(e.name)
        return ref(e.name)  # queue URL, topic ARN, table/bus/function name

    def arn(self, e: Entity) -> CFN:
        if e.kind == "bucket":
            return sub("arn:${AWS::Partition}:s3:::${BucketName}", {"BucketName": bucket_name(self.app.name, e.name)})
        if e.kind == "topic":
            return ref(e.name)
        if e.kind == "function":
            fn = self.app.functions[e.name]
            # SAM's "<Function>.Alias" reference resolves to the live alias' ARN
            return ref(f"{e.name}.Alias") if fn.rollout is not None else get_att(e.name, "Arn")
        if e.kind == "flow":
            return arn_sub("states", "stateMachine:${AWS::StackName}-" + e.name)
        return get_att(e.name, "Arn")  # queue, table, event bus

    def name_of(self, e: Entity) -> CFN:
        """The bare name (what SAM policy templates take: QueueName, TopicName ...)."""
        if e.kind == "queue":
            return get_att(e.name, "QueueName")
        if e.kind == "topic":
            return get_att(e.name, "TopicName")
        return self.address(e)

    def state_machine_name(self, flow: str) -> CFN:
        return stack_scoped(flow)
