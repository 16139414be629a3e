"""Least-privilege IAM, derived from what the app says it does.

* A **state machine**'s policy comes from its definition: every Task state, at any depth,
  names one integration and one target, and gets exactly the actions that integration
  needs on exactly that target (the serverless-step-functions plugin's ``iamStrategies``,
  research/sam.md §4.1).  Invoked functions get ``LambdaInvokePolicy`` (``function:<name>*``
  covers the ``live`` alias); everything else is an inline statement.  No action is ever
  ``*``; where the target cannot be known before run time (a ``FunctionName.$`` path, an
  integration this module does not know), compiling fails with FE807 rather than grant
  too much or too little.
* A **function**'s policy comes from ``reads:`` and ``writes:`` through SAM policy templates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flowengine.compile._cfn import CFN, arn_sub, bucket_name, get_att, sub
from flowengine.compile._refs import Entity, Refs
from flowengine.compile._report import NO_PERMISSIONS, NOT_IN_EXPRESS, UNKNOWN_REFERENCE, WRONG_KIND, Reporter
from flowengine.dsl.app import SUBSTITUTION
from flowengine.model.app import Flow, Function
from flowengine.model.asl import ABSENT, JSONATA, MapState, State, TaskState

_INTEGRATION = re.compile(r"^arn:[\w-]+:states:::(?P<service>[\w-]+):(?P<rest>.+)$")
_PATTERNS = (".sync:2", ".sync", ".waitForTaskToken")
_WHOLE_PLACEHOLDER = re.compile(r"^\$\{([^}]+)\}$")

#: The optimized DynamoDB integrations and their IAM actions.
_DYNAMODB = {"getItem": "dynamodb:GetItem", "putItem": "dynamodb:PutItem",
             "updateItem": "dynamodb:UpdateItem", "deleteItem": "dynamodb:DeleteItem"}
#: AWS SDK service names whose IAM prefix differs.
_IAM_PREFIX = {"sfn": "states", "cloudwatchlogs": "logs", "efs": "elasticfilesystem",
               "elasticloadbalancingv2": "elasticloadbalancing", "sesv2": "ses", "apigatewayv2": "apigateway",
               "eventbridge": "events", "stepfunctions": "states"}
#: S3 SDK calls whose IAM action is not the call's own name.
_S3_ACTIONS = {"listObjectsV2": ("s3:ListBucket",), "listObjects": ("s3:ListBucket",),
               "headBucket": ("s3:ListBucket",), "headObject": ("s3:GetObject",),
               "listObjectVersions": ("s3:ListBucketVersions",), "deleteObjects": ("s3:DeleteObject",),
               "copyObject": ("s3:GetObject", "s3:PutObject")}
_S3_BUCKET_LEVEL = {"s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"}

#: What CloudWatch Logs delivery needs (these calls take no resource-level permissions).
LOGGING_ACTIONS = ("logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
                   "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
                   "logs:PutResourcePolicy", "logs:UpdateLogDelivery")


class Grants:
    """Actions per resource, merged into as few statements as possible, in a stable order."""

    def __init__(self) -> None:
        self._by_resource: dict[str, tuple[CFN, list[str]]] = {}

    def add(self, actions: tuple[str, ...] | list[str], resource: CFN) -> None:
        key = json.dumps(resource, sort_keys=True)
        entry = self._by_resource.setdefault(key, (resource, []))
        entry[1].extend(a for a in actions if a not in entry[1])

    def __bool__(self) -> bool:
        return bool(self._by_resource)

    def statements(self) -> list[dict[str, Any]]:
        by_actions: dict[tuple[str, ...], list[CFN]] = {}
        for resource, actions in self._by_resource.values():
            by_actions.setdefault(tuple(sorted(actions)), []).append(resource)
        return [
            {"Effect": "Allow", "Action": list(actions), "Resource": resources[0] if len(resources) == 1 else resources}
            for actions, resources in by_actions.items()
        ]


def policy_document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


# --- state machines ------------------------------------------------------------------------


class FlowPermissions:
    """What one flow's definition needs: functions to invoke, and other grants."""

    def __init__(self, flow: Flow, refs: Refs, report: Reporter) -> None:
        self.flow = flow
        self.refs = refs
        self.report = report
        self.functions: list[str] = []
        self.grants = Grants()
        for state in flow.definition.walk():
            if isinstance(state, MapState) and (state.mode == "DISTRIBUTED" or state.item_reader is not ABSENT):
                report.at_state(state, ("ItemProcessor",), NO_PERMISSIONS,
                                "a Distributed Map (child executions, ItemReader/ResultWriter) is not supported "
                                "by compile yet", hint="use an INLINE Map")
            if isinstance(state, TaskState):
                self.task(state)

    def policies(self) -> list[Any]:
        out: list[Any] = [{"LambdaInvokePolicy": {"FunctionName": {"Ref": fn}}} for fn in self.functions]
        if self.grants:
            out.append(policy_document(self.grants.statements()))
        return out

    def fail(self, state: State, fields: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        self.report.at_state(state, fields, NO_PERMISSIONS, message, hint=hint)

    # --- one Task -----------------------------------------------------------------------

    def task(self, st: TaskState) -> None:
        resource = st.resource
        if not isinstance(resource, str) or not resource:
            return  # validation reports a missing Resource
        if st.credentials is not ABSENT:
            self.fail(st, ("Credentials",), "cross-account Credentials are not supported by compile yet")
            return
        whole = _WHOLE_PLACEHOLDER.match(resource)
        if whole:
            found = self.refs.resolve(whole.group(1))
            if found is None:
                return  # FE803, reported with the other placeholders
            entity, _ = found
            if entity.kind != "function":
                self.report.at_state(st, ("Resource",), WRONG_KIND,
                                     f"Resource ${{{whole.group(1)}}} is a {entity.kind}, not a function",
                                     hint="a Task's Resource is a function or an integration ARN")
                return
            self.invoke(entity.name)
            return
        if re.match(r"^arn:[\w-]+:lambda:", resource):
            self.grants.add(("lambda:InvokeFunction",), resource)
            return
        if re.match(r"^arn:[\w-]+:states:[^:]+:[^:]*:activity:", resource):
            self.express_only_standard(st, "activities")
            return  # a worker polls the activity; the state machine needs no grant
        m = _INTEGRATION.match(resource)
        if not m:
            self.fail(st, ("Resource",), f"cannot derive permissions for Resource {resource!r}",
                      hint="use a function, an activity or a Step Functions integration ARN")
            return
        service, rest = m.group("service"), m.group("rest")
        pattern = next((p for p in _PATTERNS if rest.endswith(p)), "")
        api = rest[: -len(pattern)] if pattern else rest
        if pattern:
            self.express_only_standard(st, f"the {pattern} integration pattern")
        handler = {"lambda": self.lambda_invoke, "dynamodb": self.dynamodb, "sqs": self.sqs, "sns": self.sns,
                   "events": self.events, "states": self.states, "aws-sdk": self.aws_sdk}.get(service)
        if handler is None:
            self.fail(st, ("Resource",), f"cannot derive permissions for the {service} integration yet",
                      hint="supported: lambda, dynamodb, sqs, sns, events, states and aws-sdk integrations")
            return
        handler(st, api, pattern)

    def express_only_standard(self, st: TaskState, what: str) -> None:
        if self.flow.type == "EXPRESS":
            self.report.at_state(st, ("Resource",), NOT_IN_EXPRESS,
                                 f"EXPRESS workflows do not support {what}",
                                 hint="make the flow 'type: standard', or call the integration without the pattern")

    def invoke(self, function: str) -> None:
        if function not in self.functions:
            self.functions.append(function)

    def lambda_invoke(self, st: TaskState, api: str, pattern: str) -> None:
        if api != "invoke":
            self.fail(st, ("Resource",), f"unknown Lambda integration {api!r}", hint="arn:aws:states:::lambda:invoke")
            return
        target = self.target(st, "FunctionName", "function")
        if isinstance(target, Entity):
            self.invoke(target.name)
        elif isinstance(target, str):
            arn = target if target.startswith("arn:") else arn_sub("lambda", f"function:{target}")
            self.grants.add(("lambda:InvokeFunction",), arn)

    def dynamodb(self, st: TaskState, api: str, pattern: str) -> None:
        action = _DYNAMODB.get(api)
        if action is None:
            self.fail(st, ("Resource",), f"dynamodb:{api} is not an optimized DynamoDB integration",
                      hint="getItem, putItem, updateItem, deleteItem; other calls through aws-sdk:dynamodb:...")
            return
        target = self.target(st, "TableName", "table")
        if isinstance(target, Entity):
            self.grants.add((action,), self.refs.arn(target))
        elif isinstance(target, str):
            self.grants.add((action,), target if target.startswith("arn:") else arn_sub("dynamodb", f"table/{target}"))

    def sqs(self, st: TaskState, api: str, pattern: str) -> None:
        if api != "sendMessage":
            self.fail(st, ("Resource",), f"unknown SQS integration {api!r}", hint="arn:aws:states:::sqs:sendMessage")
            return
        target = self.target(st, "QueueUrl", "queue")
        if isinstance(target, Entity):
            self.grants.add(("sqs:SendMessage",), self.refs.arn(target))
        elif isinstance(target, str):
            m = re.match(r"^https://sqs\.([\w-]+)\.amazonaws\.com(?:\.cn)?/(\d+)/([\w.-]+)$", target)
            if m is None:
                self.fail(st, ("Parameters", "QueueUrl"), f"QueueUrl {target!r} is not an SQS queue URL")
                return
            self.grants.add(("sqs:SendMessage",), sub(f"arn:${{AWS::Partition}}:sqs:{m[1]}:{m[2]}:{m[3]}"))

    def sns(self, st: TaskState, api: str, pattern: str) -> None:
        if api != "publish":
            self.fail(st, ("Resource",), f"unknown SNS integration {api!r}", hint="arn:aws:states:::sns:publish")
            return
        key = "TargetArn" if _field(st, "TargetArn")[0] != "missing" else "TopicArn"
        target = self.target(st, key, "topic")
        if isinstance(target, Entity):
            self.grants.add(("sns:Publish",), self.refs.arn(target))
        elif isinstance(target, str):
            self.grants.add(("sns:Publish",), target)

    def events(self, st: TaskState, api: str, pattern: str) -> None:
        if api != "putEvents":
            self.fail(st, ("Resource",), f"unknown EventBridge integration {api!r}",
                      hint="arn:aws:states:::events:putEvents")
            return
        kind, entries = _field(st, "Entries")
        if kind != "static" or not isinstance(entries, list):
            self.fail(st, (_params_key(st), "Entries"), "cannot tell which event buses Entries go to",
                      hint="write Entries as a list with a static EventBusName (or none, for the default bus)")
            return
        for i, entry in enumerate(entries):
            bus = entry.get("EventBusName") if isinstance(entry, dict) else None
            if isinstance(entry, dict) and "EventBusName.$" in entry:
                self.fail(st, (_params_key(st), "Entries", i), "cannot tell which event bus a dynamic "
                          "EventBusName names", hint="write EventBusName: ${Bus}")
                continue
            if bus is None:
                self.grants.add(("events:PutEvents",), arn_sub("events", "event-bus/default"))
                continue
            resolved = self.resolve_value(st, (_params_key(st), "Entries", i, "EventBusName"), bus, "event_bus")
            if isinstance(resolved, Entity):
                self.grants.add(("events:PutEvents",), self.refs.arn(resolved))
            elif isinstance(resolved, str):
                self.grants.add(("events:PutEvents",), resolved if resolved.startswith("arn:")
                                else arn_sub("events", f"event-bus/{resolved}"))

    def states(self, st: TaskState, api: str, pattern: str) -> None:
        if api != "startExecution":
            self.fail(st, ("Resource",), f"unknown Step Functions integration {api!r}",
                      hint="arn:aws:states:::states:startExecution (optionally .sync, .sync:2 or .waitForTaskToken)")
            return
        target = self.target(st, "StateMachineArn", "flow")
        if isinstance(target, Entity):
            machine, executions = self.refs.arn(target), arn_sub("states", "execution:${AWS::StackName}-" + target.name + ":*")
        elif isinstance(target, str):
            m = re.match(r"^arn:[\w-]+:states:([\w-]+):(\d+):stateMachine:([\w-]+)$", target)
            if m is None:
                self.fail(st, (_params_key(st), "StateMachineArn"), f"{target!r} is not a state machine ARN")
                return
            machine = target
            executions = sub(f"arn:${{AWS::Partition}}:states:{m[1]}:{m[2]}:execution:{m[3]}:*")
        else:
            return
        self.grants.add(("states:StartExecution",), machine)
        if pattern in (".sync", ".sync:2"):
            # Step Functions watches the child through a managed EventBridge rule
            self.grants.add(("states:DescribeExecution", "states:StopExecution"), executions)
            self.grants.add(("events:DescribeRule", "events:PutRule", "events:PutTargets"),
                            arn_sub("events", "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"))

    def aws_sdk(self, st: TaskState, api: str, pattern: str) -> None:
        service, _, call = api.partition(":")
        if not call:
            self.fail(st, ("Resource",), f"malformed AWS SDK integration {st.resource!r}",
                      hint="arn:aws:states:::aws-sdk:SERVICE:apiAction")
            return
        prefix = _IAM_PREFIX.get(service, service)
        actions = _S3_ACTIONS.get(call) if service == "s3" else None
        actions = actions or (f"{prefix}:{call[0].upper()}{call[1:]}",)
        params = _params(st)
        targets = list(_placeholders(params, self.refs))
        literal_arns = [v for v in _strings(params) if v.startswith("arn:")]
        if not targets and not literal_arns:
            self.fail(st, (_params_key(st),), f"cannot tell which resource {service}:{call} acts on",
                      hint="name the app resource with a ${Name} placeholder (or write its ARN) in the parameters")
            return
        object_level = service == "s3" and isinstance(params, dict) and ("Key" in params or "Key.$" in params)
        for e in targets:
            for resource in self._sdk_resources(e, actions, object_level, params):
                self.grants.add(actions, resource)
        for arn in literal_arns:
            self.grants.add(actions, arn)

    def _sdk_resources(self, e: Entity, actions: tuple[str, ...], object_level: bool, params: Any) -> list[CFN]:
        if e.kind == "bucket":
            name = bucket_name(self.refs.app.name, e.name)
            if object_level and not set(actions) <= _S3_BUCKET_LEVEL:
                return [sub("arn:${AWS::Partition}:s3:::${BucketName}/*", {"BucketName": name})]
            return [self.refs.arn(e)]
        if e.kind == "table" and isinstance(params, dict) and ("IndexName" in params or "IndexName.$" in params):
            return [self.refs.arn(e), sub("${TableArn}/index/*", {"TableArn": get_att(e.name, "Arn")})]
        return [self.refs.arn(e)]

    # --- parameters -------------------------------------------------------------------------

    def target(self, st: TaskState, key: str, kind: str) -> Entity | str | None:
        """The static target named by parameter ``key``: an app entity, a literal, or None (reported)."""
        where = (_params_key(st), key)
        found, value = _field(st, key)
        if found == "dynamic":
            self.fail(st, where, f"{key} is computed at run time, so its permissions cannot be derived",
                      hint=f"write {key}: ${{Name}} (or a literal ARN) so the policy can name it")
            return None
        if found == "missing" or not isinstance(value, str):
            self.fail(st, where, f"the integration needs a static {key}")
            return None
        return self.resolve_value(st, where, value, kind)

    def resolve_value(self, st: TaskState, where: tuple[Any, ...], value: Any, kind: str) -> Entity | str | None:
        if not isinstance(value, str):
            self.fail(st, where, f"expected a string, not {type(value).__name__}")
            return None
        m = _WHOLE_PLACEHOLDER.match(value)
        if m is None:
            if "${" in value:
                self.fail(st, where, f"cannot derive permissions for {value!r}", hint="write just ${Name}")
                return None
            return value
        found = self.refs.resolve(m.group(1))
        if found is None:
            return None  # FE803, reported with the other placeholders
        entity = found[0]
        if entity.kind != kind:
            self.report.at_state(st, where, WRONG_KIND,
                                 f"{value} is a {entity.kind}, but this parameter takes a {kind.replace('_', ' ')}")
            return None
        return entity


def _params_key(st: TaskState) -> str:
    return "Arguments" if st.query_language == JSONATA else "Parameters"


def _params(st: TaskState) -> Any:
    value = st.arguments if st.query_language == JSONATA else st.parameters
    return None if value is ABSENT else value


def _field(st: TaskState, key: str) -> tuple[str, Any]:
    """('static', value) | ('dynamic', None) | ('missing', None)."""
    params = _params(st)
    if not isinstance(params, dict):
        return ("dynamic", None) if isinstance(params, str) else ("missing", None)
    if key in params:
        value = params[key]
        if st.query_language == JSONATA and isinstance(value, str) and value.strip().startswith("{%"):
            return "dynamic", None
        return "static", value
    if f"{key}.$" in params:
        return "dynamic", None
    return "missing", None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for x in value.values():
            yield from _strings(x)
    elif isinstance(value, list):
        for x in value:
            yield from _strings(x)


def _placeholders(value: Any, refs: Refs) -> Iterator[Entity]:
    seen: set[str] = set()

    def walk(v: Any) -> Iterator[Entity]:
        if isinstance(v, str):
            for name in SUBSTITUTION.findall(v):
                found = refs.resolve(name)
                if found is not None and found[0].name not in seen:
                    seen.add(found[0].name)
                    yield found[0]
        elif isinstance(v, dict):
            for x in v.values():
                yield from walk(x)
        elif isinstance(v, list):
            for x in v:
                yield from walk(x)

    yield from walk(value)


# --- functions -----------------------------------------------------------------------------

#: reads/writes of each resource kind → SAM policy template and its parameter.
_FUNCTION_POLICIES: dict[str, dict[str, tuple[str, str]]] = {
    "bucket": {"reads": ("S3ReadPolicy", "BucketName"), "writes": ("S3CrudPolicy", "BucketName")},
    "table": {"reads": ("DynamoDBReadPolicy", "TableName"), "writes": ("DynamoDBWritePolicy", "TableName")},
    "queue": {"writes": ("SQSSendMessagePolicy", "QueueName")},
    "topic": {"writes": ("SNSPublishMessagePolicy", "TopicName")},
    "event_bus": {"writes": ("EventBridgePutEventsPolicy", "EventBusName")},
}
#: Reading a queue, as an inline statement: SAM's SQSPollerPolicy lists batch "actions" IAM
#: does not have (cfn-lint W3037); the batch calls are authorised by these.
_QUEUE_READ = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
#: Writing a table includes deleting an item, which DynamoDBWritePolicy (PutItem, UpdateItem,
#: BatchWriteItem) leaves out: an inline statement beside it, rather than DynamoDBCrudPolicy,
#: which would add every read action too.
_TABLE_DELETE = ("dynamodb:DeleteItem",)


def function_policies(fn: Function, refs: Refs, report: Reporter) -> list[Any]:
    """SAM policy templates (and inline statements) for a function's ``reads:`` and ``writes:``.

    Writing includes deleting (a clean-up function "writes" the table it deletes from): a
    bucket gets S3CrudPolicy; a table gets DynamoDBWritePolicy and ``dynamodb:DeleteItem``
    inline, and no read action.  Reading gets the read-only templates.  Reading and writing
    the same bucket or table gets its Crud template alone (for a table, exactly the read and
    write actions, DeleteItem and ConditionCheckItem).
    """
    out: list[Any] = []
    grants = Grants()
    writes = set(fn.writes)
    for access, names in (("reads", fn.reads), ("writes", fn.writes)):
        for i, name in enumerate(names):
            ptr = ("functions", fn.name, access, i)
            e = refs.entity(name)
            if e is None or e.kind not in _FUNCTION_POLICIES:
                report.at(ptr, UNKNOWN_REFERENCE, f"{access}: '{name}' is not a resource of the app")
                continue
            if access == "reads" and e.kind == "queue":
                grants.add(_QUEUE_READ, refs.arn(e))
                continue
            template = _FUNCTION_POLICIES[e.kind].get(access)
            if template is None:
                report.at(ptr, WRONG_KIND, f"a {e.kind.replace('_', ' ')} cannot be read by a function",
                          hint=f"subscribe to the {e.kind.replace('_', ' ')} with a trigger instead")
                continue
            if access == "reads" and name in writes and e.kind in ("bucket", "table"):
                continue  # the Crud template covers reading
            policy, param = template
            if e.kind == "table" and access == "writes":
                if name in fn.reads:
                    policy = "DynamoDBCrudPolicy"
                else:
                    grants.add(_TABLE_DELETE, refs.arn(e))
            entry = {policy: {param: refs.name_of(e)}}
            if entry not in out:
                out.append(entry)
    if grants:
        out.append(policy_document(grants.statements()))
    return out
