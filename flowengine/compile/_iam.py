"""Least-privilege IAM, derived from what the app says it does.

* A **state machine**'s policy comes from its definition: every Task state, at any depth,
  names one integration and one target, and gets exactly the actions that integration
  needs on exactly that target (the serverless-step-functions plugin's ``iamStrategies``,
  research/sam.md §4.1; the actions per integration are those of the "IAM policies for
  ..." pages of AWS's Step Functions developer guide).  Invoked functions get
  ``LambdaInvokePolicy`` (``function:<name>*`` covers the ``live`` alias); everything else
  is an inline statement.  No action is ever ``*``.  Where the target is computed at run
  time or names nothing compile can address (an AWS SDK call such as
  ``translate:translateText``, a ``Bucket.$`` path), the exact actions are granted on
  ``"*"`` (what AWS's console-generated policies do) and warning FE816 says so and how to
  narrow it; where AWS itself documents ``"*"`` (Batch, MediaConvert, the S3 locations and
  Data Catalog of an Athena query, the job-polling actions of ``.sync``) it is granted
  without a warning.  An integration this module does not know, or a computed target of
  one whose grant would be a guess (a Lambda function, a queue, a role to pass ...), fails
  with FE807 rather than grant too much or too little.
* A **Distributed Map** may start child executions of its own state machine, and reads its
  ItemReader and writes its ResultWriter with the state machine's role.
* A **function**'s policy comes from ``reads:`` and ``writes:`` through SAM policy templates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flowengine.compile._cfn import CFN, arn_sub, bucket_name, get_att, sub
from flowengine.compile._refs import Entity, Refs
from flowengine.compile._report import (
    BROAD_GRANT, NO_PERMISSIONS, NOT_IN_EXPRESS, UNKNOWN_REFERENCE, WRONG_KIND, Reporter,
)
from flowengine.dsl.app import SUBSTITUTION
from flowengine.model.app import Flow, Function
from flowengine.model.asl import ABSENT, JSONATA, MapState, State, TaskState

#: An integration ARN: ``arn:aws:states:::svc:api``, also region/account-qualified, and with
#: the partition as a ``${Partition}`` DefinitionSubstitution.
_INTEGRATION = re.compile(r"^arn:(?:[\w-]+|\$\{\w+\}):states:(?:[a-z]{2}(?:-[a-z]+)+-\d+)?:(?:\d{12})?:(?P<service>[\w-]+):(?P<rest>.+)$")
_PATTERNS = (".sync:2", ".sync", ".waitForTaskToken")
_WHOLE_PLACEHOLDER = re.compile(r"^\$\{([^}]+)\}$")
#: What a grant on every resource is written as.
ANY = "*"

#: The optimized DynamoDB integrations and their IAM actions.
_DYNAMODB = {"getItem": "dynamodb:GetItem", "putItem": "dynamodb:PutItem",
             "updateItem": "dynamodb:UpdateItem", "deleteItem": "dynamodb:DeleteItem"}
#: AWS SDK service names whose IAM prefix differs.
_IAM_PREFIX = {"sfn": "states", "cloudwatchlogs": "logs", "efs": "elasticfilesystem",
               "elasticloadbalancingv2": "elasticloadbalancing", "sesv2": "ses", "apigatewayv2": "apigateway",
               "eventbridge": "events", "stepfunctions": "states", "bedrockagent": "bedrock",
               "bedrockagentruntime": "bedrock", "bedrockruntime": "bedrock",
               "cognitoidentityprovider": "cognito-idp"}
#: S3 SDK calls whose IAM action is not the call's own name.
_S3_ACTIONS = {"listObjectsV2": ("s3:ListBucket",), "listObjects": ("s3:ListBucket",),
               "headBucket": ("s3:ListBucket",), "headObject": ("s3:GetObject",),
               "listObjectVersions": ("s3:ListBucketVersions",), "deleteObjects": ("s3:DeleteObject",),
               "copyObject": ("s3:GetObject", "s3:PutObject"),
               "getObjectAttributes": ("s3:GetObject", "s3:GetObjectAttributes")}
_S3_BUCKET_LEVEL = {"s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"}
#: The app resource kinds an AWS SDK call of each IAM prefix can act on; a ``${X}`` of
#: another kind in its parameters is data (an output bucket of a Transcribe job ...), not
#: the call's resource.
_SDK_KINDS = {"s3": "bucket", "dynamodb": "table", "sqs": "queue", "sns": "topic", "events": "event_bus",
              "lambda": "function", "states": "flow"}
#: The managed EventBridge rules through which ``.sync`` integrations watch their jobs.
_SYNC_RULE = "rule/StepFunctionsGetEventsFor{}Rule"
_RULE_ACTIONS = ("events:DescribeRule", "events:PutRule", "events:PutTargets")
#: Cross-region inference profile ids are ``<geography>.<model id>``.
_PROFILE_GEOGRAPHIES = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})
#: What a Distributed Map's ResultWriter does with the results' objects (multipart uploads).
_RESULT_WRITER_ACTIONS = ("s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject")

#: What an Athena query needs on S3 and the Glue Data Catalog (AWS's "IAM policies for Amazon Athena").
_ATHENA_S3 = ("s3:AbortMultipartUpload", "s3:CreateBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
              "s3:ListBucketMultipartUploads", "s3:ListMultipartUploadParts", "s3:PutObject")
_ATHENA_GLUE = ("glue:BatchCreatePartition", "glue:BatchDeletePartition", "glue:BatchDeleteTable",
                "glue:BatchGetPartition", "glue:CreateDatabase", "glue:CreatePartition", "glue:CreateTable",
                "glue:DeleteDatabase", "glue:DeletePartition", "glue:DeleteTable", "glue:GetDatabase",
                "glue:GetDatabases", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable", "glue:GetTables",
                "glue:UpdateDatabase", "glue:UpdatePartition", "glue:UpdateTable")
#: SageMaker integrations: resource type, name parameter, ``.sync`` actions, managed rule,
#: the parameter naming the role SageMaker runs with.
_SAGEMAKER: dict[str, tuple[str, str, tuple[str, ...], str | None, str | None]] = {
    "createTrainingJob": ("training-job", "TrainingJobName",
                          ("sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"), "SageMakerTrainingJobs",
                          "RoleArn"),
    "createTransformJob": ("transform-job", "TransformJobName",
                           ("sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"), "SageMakerTransformJobs",
                           None),
    "createModel": ("model", "ModelName", (), None, "ExecutionRoleArn"),
}

#: What CloudWatch Logs delivery needs (these calls take no resource-level permissions).
LOGGING_ACTIONS = ("logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
                   "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
                   "logs:PutResourcePolicy", "logs:UpdateLogDelivery")


class Grants:
    """Actions per resource (and condition), merged into as few statements as possible, in a
    stable order."""

    def __init__(self) -> None:
        self._by_resource: dict[str, tuple[CFN, list[str], dict[str, Any] | None]] = {}

    def add(self, actions: tuple[str, ...] | list[str], resource: CFN,
            condition: dict[str, Any] | None = None) -> None:
        key = json.dumps([resource, condition], sort_keys=True)
        entry = self._by_resource.setdefault(key, (resource, [], condition))
        entry[1].extend(a for a in actions if a not in entry[1])

    def __bool__(self) -> bool:
        return bool(self._by_resource)

    def statements(self) -> list[dict[str, Any]]:
        merged: dict[str, tuple[tuple[str, ...], dict[str, Any] | None, list[CFN]]] = {}
        for resource, actions, condition in self._by_resource.values():
            key = json.dumps([sorted(actions), condition], sort_keys=True)
            merged.setdefault(key, (tuple(sorted(actions)), condition, []))[2].append(resource)
        return [
            {"Effect": "Allow", "Action": list(actions), "Resource": resources[0] if len(resources) == 1 else resources,
             **({"Condition": condition} if condition else {})}
            for actions, condition, resources in merged.values()
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
                self.distributed_map(state)
            if isinstance(state, TaskState):
                self.task(state)

    def policies(self) -> list[Any]:
        out: list[Any] = [{"LambdaInvokePolicy": {"FunctionName": {"Ref": fn}}} for fn in self.functions]
        if self.grants:
            out.append(policy_document(self.grants.statements()))
        return out

    def fail(self, state: State, fields: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        self.report.at_state(state, fields, NO_PERMISSIONS, message, hint=hint)

    def broad(self, st: State, fields: tuple[str | int, ...], actions: tuple[str, ...], why: str,
              hint: str = "if the call acts on a resource, name it with ${Name} (an app resource) or a literal ARN; "
                          "a call without resource-level permissions needs '*'") -> None:
        """Grant ``actions`` on ``"*"`` and say so (FE816): the target is not known at compile time."""
        self.grants.add(actions, ANY)
        self.report.at_state(st, fields, BROAD_GRANT,
                             f"{', '.join(actions)} granted on every resource ('*'): {why}",
                             hint=hint, severity="warning")

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
            if "${" in resource:
                self.fail(st, ("Resource",), f"cannot derive permissions for {resource!r}",
                          hint="write Resource: ${FunctionArn} (or a literal function ARN)")
                return
            self.grants.add(("lambda:InvokeFunction",), resource)
            return
        if re.match(r"^arn:[\w-]+:states:[^:]*:[^:]*:activity:", resource):
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
                   "events": self.events, "states": self.states, "aws-sdk": self.aws_sdk,
                   "apigateway": self.apigateway, "ecs": self.ecs, "batch": self.batch,
                   "bedrock": self.bedrock, "mediaconvert": self.mediaconvert, "athena": self.athena,
                   "glue": self.glue, "codebuild": self.codebuild, "sagemaker": self.sagemaker,
                   "http": self.http}.get(service)
        if handler is None:
            self.fail(st, ("Resource",), f"cannot derive permissions for the {service} integration yet",
                      hint="supported: lambda, dynamodb, sqs, sns, events, states, apigateway, ecs, batch, bedrock, "
                           "mediaconvert, athena, glue, codebuild, sagemaker, http and aws-sdk integrations")
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

    def unknown_api(self, st: TaskState, service: str, api: str, known: str) -> None:
        self.fail(st, ("Resource",), f"unknown {service} integration {api!r}", hint=f"known: {known}")

    def sync_rule(self, pattern: str, rule: str) -> None:
        """``.sync``: Step Functions watches the job through a managed EventBridge rule."""
        if pattern.startswith(".sync"):
            self.grants.add(_RULE_ACTIONS, arn_sub("events", _SYNC_RULE.format(rule)))

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
            arn = _queue_arn(target)
            if arn is None:
                self.fail(st, ("Parameters", "QueueUrl"), f"QueueUrl {target!r} is not an SQS queue URL")
                return
            self.grants.add(("sqs:SendMessage",), arn)

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
            self.grants.add(("states:DescribeExecution", "states:StopExecution"), executions)
            self.sync_rule(pattern, "StepFunctionsExecution")

    # --- optimized integrations of other services (docs/compile.md, "Permissions") ------------

    def apigateway(self, st: TaskState, api: str, pattern: str) -> None:
        """``execute-api:Invoke`` on the method's ARN, built from a literal execute-api host."""
        if api != "invoke":
            self.unknown_api(st, "API Gateway", api, "arn:aws:states:::apigateway:invoke")
            return
        params = _params(st) if isinstance(_params(st), dict) else {}
        path_kind, path = _field(st, "Path")
        path_text = params.get("Path", params.get("Path.$"))  # a literal, a path or an expression
        actions: tuple[str, ...] = ("execute-api:Invoke",)
        if isinstance(path_text, str) and "@connections" in path_text:
            # posting to a WebSocket client is the @connections management API
            actions += ("execute-api:ManageConnections",)
        kind, endpoint = _field(st, "ApiEndpoint")
        host = re.match(r"^([\w-]+)\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$", endpoint) \
            if kind == "static" and isinstance(endpoint, str) else None
        if host is None:
            self.broad(st, (_params_key(st), "ApiEndpoint"), actions,
                       "the API is not named by a literal <api-id>.execute-api.<region>.amazonaws.com ApiEndpoint",
                       hint="write ApiEndpoint as the API's execute-api host")
            return
        stage = _static_str(st, "Stage")
        method = _static_str(st, "Method") or "*"
        if stage is None:
            # without Stage the stage may lead the Path: match any stage and any path
            route = "*"
        else:
            route = path.lstrip("/") if path_kind == "static" and isinstance(path, str) else "*"
        stage = stage or "*"
        self.grants.add(actions, sub(f"arn:${{AWS::Partition}}:execute-api:{host[2]}:${{AWS::AccountId}}:"
                                     f"{host[1]}/{stage}/{method}/{route}"))

    def ecs(self, st: TaskState, api: str, pattern: str) -> None:
        """``ecs:RunTask`` on the task definition; ``.sync`` also stops and describes the task."""
        if api != "runTask":
            self.unknown_api(st, "ECS", api, "arn:aws:states:::ecs:runTask (optionally .sync or .waitForTaskToken)")
            return
        definition = _static_str(st, "TaskDefinition")
        if definition is None or "${" in definition:
            self.broad(st, (_params_key(st), "TaskDefinition"), ("ecs:RunTask",),
                       "the task definition is computed at run time or not a literal",
                       hint="write TaskDefinition as a literal family[:revision] or task definition ARN")
        else:
            self.grants.add(("ecs:RunTask",), _task_definition_arn(definition))
        if pattern.startswith(".sync"):
            # task ids are known only at run time (AWS documents "*"; Step Functions can
            # stop only the tasks it started)
            self.grants.add(("ecs:DescribeTasks", "ecs:StopTask"), ANY)
            self.sync_rule(pattern, "ECSTask")
        overrides = (_params(st) or {}).get("Overrides") if isinstance(_params(st), dict) else None
        for key in ("TaskRoleArn", "ExecutionRoleArn"):
            role = overrides.get(key) if isinstance(overrides, dict) else None
            if isinstance(role, str) and role.startswith("arn:") and "${" not in role:
                self.grants.add(("iam:PassRole",), role)
        self.report.at_state(st, (_params_key(st), "TaskDefinition"), BROAD_GRANT,
                             "running the task passes the task definition's task and execution roles, and "
                             "compile cannot see them to grant iam:PassRole",
                             hint="grant iam:PassRole on those roles to the state machine yourself",
                             severity="warning")

    def batch(self, st: TaskState, api: str, pattern: str) -> None:
        """AWS Batch: ``"*"`` as AWS documents it (job ids exist only at run time)."""
        if api != "submitJob":
            self.unknown_api(st, "Batch", api, "arn:aws:states:::batch:submitJob (optionally .sync)")
            return
        self.grants.add(("batch:SubmitJob",), ANY)
        if pattern.startswith(".sync"):
            self.grants.add(("batch:DescribeJobs", "batch:TerminateJob"), ANY)
            self.sync_rule(pattern, "BatchJobs")

    def mediaconvert(self, st: TaskState, api: str, pattern: str) -> None:
        """MediaConvert: ``"*"`` as AWS documents it, and ``iam:PassRole`` on the job's Role."""
        if api != "createJob":
            self.unknown_api(st, "MediaConvert", api, "arn:aws:states:::mediaconvert:createJob (optionally .sync)")
            return
        self.grants.add(("mediaconvert:CreateJob",), ANY)
        if pattern.startswith(".sync"):
            self.grants.add(("mediaconvert:CancelJob", "mediaconvert:GetJob"), ANY)
            self.sync_rule(pattern, "MediaConvertJob")
        role = _static_str(st, "Role")
        if role is not None and role.startswith("arn:") and "${" not in role:
            self.grants.add(("iam:PassRole",), role)
        else:
            self.broad(st, (_params_key(st), "Role"), ("iam:PassRole",), "the job's Role is not a literal ARN",
                       hint="write Role as the literal ARN of the MediaConvert role")

    def bedrock(self, st: TaskState, api: str, pattern: str) -> None:
        """``bedrock:InvokeModel`` on the model (and the models a cross-region profile routes to)."""
        if api != "invokeModel":
            self.unknown_api(st, "Bedrock", api, "arn:aws:states:::bedrock:invokeModel")
            return
        model = _static_str(st, "ModelId")
        if model is None or "${" in model:
            self.broad(st, (_params_key(st), "ModelId"), ("bedrock:InvokeModel",),
                       "the model is computed at run time", hint="write ModelId as a literal model id or ARN")
        else:
            for arn in _bedrock_model_arns(model):
                self.grants.add(("bedrock:InvokeModel",), arn)
        params = _params(st)
        for key, action in (("Input", "s3:GetObject"), ("Output", "s3:PutObject")):
            where = params.get(key) if isinstance(params, dict) else None
            if not isinstance(where, dict):
                continue
            uri = where.get("S3Uri")
            m = re.match(r"^s3://([a-z0-9][a-z0-9.-]+)/(.+)$", uri) if isinstance(uri, str) else None
            if m is None or "*" in m[2]:
                self.broad(st, (_params_key(st), key), (action,), f"the {key} object is computed at run time",
                           hint=f"write {key}.S3Uri as a literal s3://bucket/key")
            else:
                self.grants.add((action,), sub(f"arn:${{AWS::Partition}}:s3:::{m[1]}/{m[2]}"))

    def athena(self, st: TaskState, api: str, pattern: str) -> None:
        """Athena, as AWS's "IAM policies for Amazon Athena" lists it: the query reads and
        writes S3 locations and the Glue Data Catalog that only the SQL names."""
        workgroup = "*"  # a query execution id does not say its workgroup
        if api == "startQueryExecution":
            kind, value = _field(st, "WorkGroup")
            if kind == "missing":
                workgroup = "primary"
            elif kind == "static" and isinstance(value, str) and value and "${" not in value:
                workgroup = value
        workgroups = arn_sub("athena", f"workgroup/{workgroup}")
        if api == "startQueryExecution":
            actions: tuple[str, ...] = ("athena:StartQueryExecution", "athena:GetDataCatalog")
            if pattern.startswith(".sync"):
                actions += ("athena:GetQueryExecution", "athena:StopQueryExecution")
            self.grants.add(actions, workgroups)
            self.grants.add(actions, arn_sub("athena", "datacatalog/*"))
            self.grants.add(_ATHENA_S3, sub("arn:${AWS::Partition}:s3:::*"))
            for resource in ("catalog", "database/*", "table/*", "userDefinedFunction/*"):
                self.grants.add(_ATHENA_GLUE, arn_sub("glue", resource))
            self.grants.add(("lakeformation:GetDataAccess",), ANY)
        elif api in ("stopQueryExecution", "getQueryExecution"):
            self.grants.add((f"athena:{api[0].upper()}{api[1:]}",), workgroups)
        elif api == "getQueryResults":
            self.grants.add(("athena:GetQueryResults",), workgroups)
            self.grants.add(("s3:GetObject",), sub("arn:${AWS::Partition}:s3:::*"))
        else:
            self.unknown_api(st, "Athena", api, "startQueryExecution, stopQueryExecution, getQueryExecution, "
                                                "getQueryResults")

    def glue(self, st: TaskState, api: str, pattern: str) -> None:
        """``glue:StartJobRun`` on the job; ``.sync`` also watches and stops the run."""
        if api != "startJobRun":
            self.unknown_api(st, "Glue", api, "arn:aws:states:::glue:startJobRun (optionally .sync)")
            return
        actions: tuple[str, ...] = ("glue:StartJobRun",)
        if pattern.startswith(".sync"):
            actions += ("glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns")
        self.named(st, "JobName", actions, lambda name: arn_sub("glue", f"job/{name}"))

    def codebuild(self, st: TaskState, api: str, pattern: str) -> None:
        """``codebuild:StartBuild`` on the project; ``.sync`` also watches and stops the build."""
        if api != "startBuild":
            self.unknown_api(st, "CodeBuild", api, "arn:aws:states:::codebuild:startBuild (optionally .sync)")
            return
        actions: tuple[str, ...] = ("codebuild:StartBuild",)
        if pattern.startswith(".sync"):
            actions += ("codebuild:BatchGetBuilds", "codebuild:StopBuild")
            self.sync_rule(pattern, "CodeBuildStartBuild")
        self.named(st, "ProjectName", actions, lambda name: arn_sub("codebuild", f"project/{name}"))

    def sagemaker(self, st: TaskState, api: str, pattern: str) -> None:
        """SageMaker jobs and models: on ``<type>/<name>*`` (every ``<type>/*`` of the account
        when the name is computed), ``sagemaker:ListTags`` on ``"*"``, and ``iam:PassRole`` on
        the role SageMaker runs with, only to SageMaker."""
        spec = _SAGEMAKER.get(api)
        if spec is None:
            self.unknown_api(st, "SageMaker", api, ", ".join(_SAGEMAKER))
            return
        kind, name_key, sync_actions, rule, role_key = spec
        actions: tuple[str, ...] = (f"sagemaker:{api[0].upper()}{api[1:]}",)
        if pattern.startswith(".sync") and rule:
            actions += sync_actions
            self.sync_rule(pattern, rule)
        name = _static_str(st, name_key)
        self.grants.add(actions, arn_sub("sagemaker", f"{kind}/{name}*" if name and "${" not in name else f"{kind}/*"))
        self.grants.add(("sagemaker:ListTags",), ANY)
        if role_key is None:
            return
        role = _static_str(st, role_key)
        if role is None or not role.startswith("arn:") or "${" in role:
            self.fail(st, (_params_key(st), role_key), f"cannot tell which role {role_key} passes to SageMaker",
                      hint=f"write {role_key} as the literal ARN of the role")
            return
        self.grants.add(("iam:PassRole",), role, {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})

    def http(self, st: TaskState, api: str, pattern: str) -> None:
        """An HTTPS call: ``states:InvokeHTTPEndpoint`` on the flow's own state machine, the
        EventBridge connection's credentials, and the connection's Secrets Manager secret."""
        if api != "invoke":
            self.unknown_api(st, "HTTP", api, "arn:aws:states:::http:invoke")
            return
        self.grants.add(("states:InvokeHTTPEndpoint",), self.refs.arn(Entity("flow", self.flow.name)))
        params = _params(st)
        auth = params.get("Authentication") if isinstance(params, dict) else None
        connection = auth.get("ConnectionArn") if isinstance(auth, dict) else None
        if isinstance(connection, str) and connection.startswith("arn:") and "${" not in connection:
            self.grants.add(("events:RetrieveConnectionCredentials",), connection)
        else:
            self.broad(st, (_params_key(st), "Authentication"), ("events:RetrieveConnectionCredentials",),
                       "the EventBridge connection is not a literal ARN",
                       hint="write Authentication.ConnectionArn as the connection's literal ARN")
        self.grants.add(("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"),
                        sub("arn:${AWS::Partition}:secretsmanager:*:*:secret:events!connection/*"))

    def named(self, st: TaskState, key: str, actions: tuple[str, ...], arn: Any) -> None:
        """``actions`` on the resource a literal name in parameter ``key`` gives, else on ``"*"`` (FE816)."""
        name = _static_str(st, key)
        if name is None or "${" in name:
            self.broad(st, (_params_key(st), key), actions, f"{key} is computed at run time",
                       hint=f"write {key} as a literal name")
        else:
            self.grants.add(actions, name if name.startswith("arn:") else arn(name))

    # --- AWS SDK integrations -------------------------------------------------------------------

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
        kind = _SDK_KINDS.get(prefix)
        targets = [e for e in _placeholders(params, self.refs) if e.kind == kind]
        if prefix == "states" and _names_own_state_machine(params):
            targets.append(Entity("flow", self.flow.name))  # e.g. listExecutions of this very flow
        literal_arns = [v for v in _strings(params) if v.startswith("arn:") and "${" not in v
                        and v.split(":")[2:3] == [prefix]]
        object_level = prefix == "s3" and isinstance(params, dict) and ("Key" in params or "Key.$" in params)
        for e in targets:
            for resource in self._sdk_resources(e, actions, object_level, params):
                self.grants.add(actions, resource)
        for arn in literal_arns:
            self.grants.add(actions, arn)
        if targets or literal_arns:
            return
        named = _sdk_literal_resources(prefix, actions, params)
        if named:
            for resource in named:
                self.grants.add(actions, resource)
            return
        self.broad(st, (_params_key(st),), actions, f"the parameters name no resource of {service}:{call}")

    def _sdk_resources(self, e: Entity, actions: tuple[str, ...], object_level: bool, params: Any) -> list[CFN]:
        if e.kind == "bucket":
            name = bucket_name(self.refs.app.name, e.name)
            if object_level and not set(actions) <= _S3_BUCKET_LEVEL:
                return [sub("arn:${AWS::Partition}:s3:::${BucketName}/*", {"BucketName": name})]
            return [self.refs.arn(e)]
        if e.kind == "table" and isinstance(params, dict) and ("IndexName" in params or "IndexName.$" in params):
            return [self.refs.arn(e), sub("${TableArn}/index/*", {"TableArn": get_att(e.name, "Arn")})]
        return [self.refs.arn(e)]

    # --- Distributed Map --------------------------------------------------------------------------

    def distributed_map(self, st: MapState) -> None:
        """Child executions of the flow's own state machine, and the S3 reads and writes of
        ItemReader and ResultWriter (AWS's "IAM policies for using Distributed Map states")."""
        name = self.flow.name
        self.grants.add(("states:StartExecution",), self.refs.arn(Entity("flow", name)))
        self.grants.add(("states:DescribeExecution", "states:StopExecution"),
                        arn_sub("states", "execution:${AWS::StackName}-" + name + "/*"))
        reader, writer = st.item_reader, st.result_writer
        if isinstance(reader, dict):
            resource = reader.get("Resource")
            call = resource.rsplit(":", 1)[-1] if isinstance(resource, str) else ""
            if call in ("listObjectsV2", "listObjects"):
                self.map_bucket(st, "ItemReader", reader, ("s3:ListBucket",), objects=False)
            else:
                self.map_bucket(st, "ItemReader", reader, ("s3:GetObject",), objects=True)
        if isinstance(writer, dict) and ("Resource" in writer or _map_params(st, writer) is not None):
            self.map_bucket(st, "ResultWriter", writer, _RESULT_WRITER_ACTIONS, objects=True)

    def map_bucket(self, st: MapState, field: str, config: dict[str, Any], actions: tuple[str, ...],
                   *, objects: bool) -> None:
        params = _map_params(st, config)
        key = "Arguments" if "Arguments" in config else "Parameters"
        where: tuple[str | int, ...] = (field, key, "Bucket")
        bucket = params.get("Bucket") if isinstance(params, dict) else None
        computed = not isinstance(bucket, str) or (st.query_language == JSONATA and bucket.strip().startswith("{%"))
        if computed:
            self.broad(st, where, actions, f"the {field} bucket is computed at run time",
                       hint="write Bucket: ${Bucket} (an app bucket) or a literal bucket name")
            return
        resolved = self.resolve_value(st, where, bucket, "bucket")
        if resolved is None:
            return
        if isinstance(resolved, Entity):
            name: CFN = bucket_name(self.refs.app.name, resolved.name)
        else:
            name = resolved
        suffix = ""
        if objects:
            literal = params.get("Key" if field == "ItemReader" else "Prefix")
            if isinstance(literal, str) and "${" not in literal and "*" not in literal \
                    and not literal.strip().startswith("{%") and literal:
                suffix = "/" + literal.strip("/") + ("" if field == "ItemReader" else "/*")
            else:
                suffix = "/*"
        self.grants.add(actions, sub("arn:${AWS::Partition}:s3:::${BucketName}" + suffix,
                                     {"BucketName": name}) if isinstance(name, dict)
                        else sub(f"arn:${{AWS::Partition}}:s3:::{name}{suffix}"))

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

    def resolve_value(self, st: State, where: tuple[Any, ...], value: Any, kind: str) -> Entity | str | None:
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


def _static_str(st: TaskState, key: str) -> str | None:
    """Parameter ``key`` when it is a static string (not a path, not a JSONata expression)."""
    kind, value = _field(st, key)
    return value if kind == "static" and isinstance(value, str) and value else None


def _map_params(st: MapState, config: dict[str, Any]) -> Any:
    value = config.get("Arguments") if st.query_language == JSONATA else config.get("Parameters")
    return value if value is not None else config.get("Parameters", config.get("Arguments"))


def _names_own_state_machine(params: Any) -> bool:
    """Whether a parameter is the running state machine's own ARN (``$$.StateMachine.Id``)."""
    if not isinstance(params, dict):
        return False
    own = {"$$.StateMachine.Id", "{%$states.context.StateMachine.Id%}"}
    return any(isinstance(v, str) and v.replace(" ", "") in own for k, v in params.items()
               if k.endswith(".$") or (isinstance(v, str) and v.strip().startswith("{%")))


def _queue_arn(url: str) -> CFN | None:
    m = re.match(r"^https://sqs\.([\w-]+)\.amazonaws\.com(?:\.cn)?/(\d+)/([\w.-]+)$", url)
    return None if m is None else sub(f"arn:${{AWS::Partition}}:sqs:{m[1]}:{m[2]}:{m[3]}")


def _task_definition_arn(definition: str) -> CFN:
    """An ECS task definition (``family``, ``family:revision`` or its ARN) as IAM resources;
    without a revision, every revision of the family (RunTask takes the latest)."""
    if definition.startswith("arn:"):
        return definition if re.search(r":\d+$", definition) else definition + ":*"
    family, _, revision = definition.partition(":")
    return arn_sub("ecs", f"task-definition/{family}:{revision or '*'}")


def _bedrock_model_arns(model: str) -> list[CFN]:
    """The ARNs ``bedrock:InvokeModel`` needs for a ModelId: a foundation model's, or a
    cross-region inference profile's and those of the foundation model it routes to in any
    region (``us.``, ``eu.``, ``global.`` ... profiles)."""
    if model.startswith("arn:"):
        m = re.match(r"^arn:[\w-]+:bedrock:[^:]*:[^:]*:inference-profile/([\w-]+)\.(\w[\w.:-]*)$", model)
        if m and m[1] in _PROFILE_GEOGRAPHIES:
            return [model, sub(f"arn:${{AWS::Partition}}:bedrock:*::foundation-model/{m[2]}")]
        return [model]
    geography, _, rest = model.partition(".")
    if geography in _PROFILE_GEOGRAPHIES and "." in rest:
        return [arn_sub("bedrock", f"inference-profile/{model}"),
                sub(f"arn:${{AWS::Partition}}:bedrock:*::foundation-model/{rest}")]
    return [sub(f"arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}::foundation-model/{model}")]


def _sdk_literal_resources(prefix: str, actions: tuple[str, ...], params: Any) -> list[CFN]:
    """The narrowest resources an AWS SDK call's literal (non-ARN) names give: a DynamoDB
    TableName, an S3 Bucket (and Key), an SQS QueueUrl, a Lambda FunctionName."""
    if not isinstance(params, dict):
        return []

    def literal(key: str) -> str | None:
        value = params.get(key)
        return value if isinstance(value, str) and value and "${" not in value and "{%" not in value else None

    if prefix == "dynamodb" and (table := literal("TableName")):
        table_arn = arn_sub("dynamodb", f"table/{table}")
        if "IndexName" in params or "IndexName.$" in params:
            return [table_arn, arn_sub("dynamodb", f"table/{table}/index/*")]
        return [table_arn]
    if prefix == "s3" and (bucket := literal("Bucket")):
        if set(actions) <= _S3_BUCKET_LEVEL or not ("Key" in params or "Key.$" in params):
            return [sub(f"arn:${{AWS::Partition}}:s3:::{bucket}")]
        key = literal("Key")
        return [sub(f"arn:${{AWS::Partition}}:s3:::{bucket}/{key if key and '*' not in key else '*'}")]
    if prefix == "sqs" and (url := literal("QueueUrl")):
        queue_arn = _queue_arn(url)
        return [queue_arn] if queue_arn is not None else []
    if prefix == "lambda" and (function := literal("FunctionName")):
        return [arn_sub("lambda", f"function:{function}")]
    return []


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
