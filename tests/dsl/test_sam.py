"""SAM/CloudFormation templates as sources (issue 13): detection, intrinsics, located
diagnostics, state machines, functions, resources, events and the plain-ASL placeholders."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowengine.cli import main
from flowengine.dsl.app import load, load_options
from flowengine.dsl.sam import is_template, load_template, local_name, looks_like_template
from flowengine.errors import LoadError
from flowengine.validate import validate_app, validate_path


def write(tmp: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        head = HEAD if text.startswith(HEAD) else ""
        p.write_text(head.lstrip("\n") + textwrap.dedent(text[len(head):]).lstrip("\n"))
    return tmp / "template.yaml"


HEAD = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
"""


def codes(loaded: Any) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.col) for d in validate_app(loaded)]


# --- detection -----------------------------------------------------------------------------------


def test_detection_by_transform_version_or_resource_types() -> None:
    assert is_template({"Transform": "AWS::Serverless-2016-10-31", "Resources": {}})
    assert is_template({"AWSTemplateFormatVersion": "2010-09-09"})
    assert is_template({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    assert not is_template({"app": "x", "resources": {}})
    assert not is_template({"StartAt": "A", "States": {}})
    assert looks_like_template("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n")
    assert not looks_like_template("app: shop\nflows: {}\n")


def test_app_files_still_refuse_tags(tmp_path: Path) -> None:
    p = tmp_path / "app.yaml"
    p.write_text("app: x\nflows:\n  F: {StartAt: A, States: {A: {Type: Pass, Result: !Ref X, End: true}}}\n")
    with pytest.raises(LoadError) as exc:
        load(p)
    assert exc.value.diagnostics[0].code == "FE108"


def test_json_template(tmp_path: Path) -> None:
    p = tmp_path / "stack.json"
    p.write_text(json.dumps({"Resources": {"M": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
        "DefinitionString": {"Fn::Sub": '{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"${AWS::Region}","End":true}}}'},
    }}}}))
    loaded = load(p)
    assert loaded.template is not None
    assert loaded.app.flows["M"].asl["States"]["A"]["Result"] == "us-east-1"


# --- intrinsics ------------------------------------------------------------------------------------


def test_intrinsics_short_and_long_forms(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Parameters:
          Env: {Type: String, Default: dev}
          Sizes: {Type: CommaDelimitedList, Default: "a,b,c"}
        Mappings:
          ByEnv:
            dev: {Limit: 5}
        Conditions:
          IsDev: !Equals [!Ref Env, dev]
          NotDev: !Not [Condition: IsDev]
        Resources:
          M:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition:
                StartAt: A
                States:
                  A:
                    Type: Pass
                    Result:
                      sub: !Sub "${Env}-${AWS::AccountId}-${!Literal}"
                      sublist: !Sub ["${X}/${AWS::StackName}", {X: !Ref Env}]
                      join: {"Fn::Join": ["-", [a, !Ref Env]]}
                      select: !Select [1, !Ref Sizes]
                      split: !Split [",", "x,y"]
                      map: !FindInMap [ByEnv, !Ref Env, Limit]
                      if: !If [IsDev, yes-dev, no-dev]
                      ifnot: !If [NotDev, a, b]
                      novalue: !If [NotDev, x, !Ref AWS::NoValue]
                      getatt: !GetAtt M.Name
                    End: true
    """})
    loaded = load(t)
    assert [d for d in validate_app(loaded) if d.severity == "error"] == []
    result = loaded.app.flows["M"].asl["States"]["A"]["Result"]
    assert result == {
        "sub": "dev-123456789012-${Literal}", "sublist": f"dev/{loaded.app.name}", "join": "a-dev",
        "select": "b", "split": ["x", "y"], "map": 5, "if": "yes-dev", "ifnot": "b", "getatt": "${M}",
    }


def test_unknown_ref_is_located(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Resources:
          M:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition: {StartAt: A, States: {A: {Type: Pass, Result: !Ref Missing, End: true}}}
    """})
    found = [(d.code, d.span.line) for d in validate_app(load(t)) if d.severity == "error"]
    assert found == [("FE902", 7)]


def test_parameter_overrides_and_import_values(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Parameters:
          Env: {Type: String}
        Resources:
          M:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition:
                StartAt: A
                States: {A: {Type: Pass, Result: [!Ref Env, !ImportValue shared-bus], End: true}}
    """})
    plain = load(t)
    assert sorted(d.code for d in validate_app(plain)) == ["FE904", "FE907"]  # warnings: no value given
    assert all(d.severity == "warning" for d in validate_app(plain))
    given = load_template(t, parameters={"Env": "prod", "shared-bus": "bus-1"})
    assert given.app.flows["M"].asl["States"]["A"]["Result"] == ["prod", "bus-1"]
    with load_options(parameters={"Env": "qa"}):
        assert load(t).app.flows["M"].asl["States"]["A"]["Result"][0] == "qa"


def test_resource_with_false_condition_is_left_out(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Conditions:
          Never: !Equals [a, b]
        Resources:
          Q:
            Type: AWS::SQS::Queue
            Condition: Never
          M:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition: {StartAt: A, States: {A: {Type: Pass, End: true}}}
    """})
    assert load(t).app.resources == {}


# --- state machines -------------------------------------------------------------------------------


def test_definition_uri_with_substitutions_and_numeric_placeholder(tmp_path: Path) -> None:
    t = write(tmp_path, {
        "template.yaml": HEAD + """
            Resources:
              Work:
                Type: AWS::Serverless::Function
                Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.12}
              Flow:
                Type: AWS::Serverless::StateMachine
                Properties:
                  Type: EXPRESS
                  DefinitionUri: sm/flow.asl.json
                  DefinitionSubstitutions:
                    WorkArn: !GetAtt Work.Arn
                    Limit: 4
        """,
        "sm/flow.asl.json": """
            {"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": ${Limit},
              "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "${WorkArn}", "End": true}}},
              "End": true, "Bad": 1}}}
        """,
        "src/app.py": "def handler(event, context):\n    return event * 2\n",
    })
    loaded = load(t)
    flow = loaded.app.flows["Flow"]
    assert flow.type == "EXPRESS"
    assert flow.asl["States"]["M"]["MaxConcurrency"] == 4
    assert flow.asl["States"]["M"]["ItemProcessor"]["States"]["W"]["Resource"] == "${WorkArn}"
    # the unknown field is reported in the DefinitionUri file, at its column as written
    (bad,) = [d for d in validate_app(loaded) if d.code == "FE201"]
    assert (bad.span.file.endswith("flow.asl.json"), bad.span.line, bad.span.col) == (True, 3, 16)
    from flowengine.testing import run_flow

    assert run_flow(loaded, input=[1, 2, 3], validate=False).output == [2, 4, 6]


def test_missing_definition_uri_is_located_in_the_template(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Resources:
          Flow:
            Type: AWS::Serverless::StateMachine
            Properties:
              DefinitionUri: nowhere.asl.json
    """})
    assert codes(load(t)) == [("FE101", 7, 22)]


def test_placeholder_without_substitution_is_a_warning(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Resources:
          Flow:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition: {StartAt: A, States: {A: {Type: Pass, Result: "${Nope}", End: true}}}
    """})
    (d,) = validate_app(load(t))
    assert (d.code, d.severity, d.span.line) == ("FE906", "warning", 7)


def test_stepfunctions_state_machine_definition_string(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": """
        Resources:
          Flow:
            Type: AWS::StepFunctions::StateMachine
            Properties:
              StateMachineType: EXPRESS
              DefinitionString: |
                {"StartAt": "A",
                 "States": {"A": {"Type": "Pass", "Result": "${Greeting}", "End": true, "Oops": 1}}}
              DefinitionSubstitutions:
                Greeting: hello
    """})
    loaded = load(t)
    assert loaded.app.flows["Flow"].type == "EXPRESS"
    assert loaded.app.flows["Flow"].asl["States"]["A"]["Result"] == "hello"
    (d,) = [d for d in validate_app(loaded) if d.code == "FE201"]
    assert (d.span.line, d.span.col) == (8, 81)  # inside the block scalar, as written


def test_one_machine_needs_no_flow_and_several_need_one(tmp_path: Path, capsys: Any) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Resources:
          A:
            Type: AWS::Serverless::StateMachine
            Properties: {Definition: {StartAt: P, States: {P: {Type: Pass, Result: a, End: true}}}}
          B:
            Type: AWS::Serverless::StateMachine
            Properties: {Definition: {StartAt: P, States: {P: {Type: Pass, Result: b, End: true}}}}
    """})
    assert main(["run", str(t)]) == 2
    assert main(["run", str(t), "--flow", "B", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == "b"


# --- functions --------------------------------------------------------------------------------------


def test_functions_globals_env_and_own_code_dirs(tmp_path: Path) -> None:
    t = write(tmp_path, {
        "template.yaml": HEAD + """
            Globals:
              Function:
                Runtime: python3.12
                Timeout: 9
                Environment: {Variables: {SHARED: s}}
            Resources:
              Table:
                Type: AWS::Serverless::SimpleTable
                Properties: {PrimaryKey: {Name: pk, Type: Number}}
              One:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: one/
                  Handler: app.handler
                  MemorySize: 256
                  ReservedConcurrentExecutions: 2
                  Environment: {Variables: {TABLE: !Ref Table}}
              Two:
                Type: AWS::Serverless::Function
                Properties: {CodeUri: two/, Handler: app.handler}
              Flow:
                Type: AWS::Serverless::StateMachine
                Properties:
                  Definition:
                    StartAt: A
                    States:
                      A: {Type: Task, Resource: "${OneArn}", Next: B}
                      B: {Type: Task, Resource: !GetAtt Two.Arn, End: true}
                  DefinitionSubstitutions: {OneArn: !GetAtt One.Arn}
        """,
        "one/app.py": "import os\ndef handler(event, context):\n    return [os.environ['TABLE'], os.environ['SHARED']]\n",
        "two/app.py": "def handler(event, context):\n    return {'two': event}\n",
    })
    loaded = load(t)
    one = loaded.app.functions["One"]
    assert (one.timeout_seconds, one.memory_mb, one.concurrency) == (9, 256, 2)
    assert one.environment == {"SHARED": "s", "TABLE": "${Table}"}
    assert loaded.app.resources["Table"].properties["key"] == {"pk": "N"}
    from flowengine.testing import run_flow

    result = run_flow(loaded, input={})
    assert result.status == "SUCCEEDED", result.cause
    # both modules are named app: each function imports its own
    assert result.output == {"two": [local_name(loaded.app.name, "Table", "table"), "s"]}


def test_other_runtimes_are_reported_and_mockable(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Resources:
          Node:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src/, Handler: index.handler, Runtime: nodejs20.x}
          Flow:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition: {StartAt: A, States: {A: {Type: Task, Resource: !GetAtt Node.Arn, End: true}}}
    """})
    loaded = load(t)
    assert [(d.code, d.severity) for d in validate_app(loaded)] == [("FE908", "warning")]
    from flowengine.testing import mocks, run_flow

    failed = run_flow(loaded, input={})
    assert failed.status == "FAILED" and "nodejs20.x" in (failed.cause or "")
    assert run_flow(loaded, input={}, mocks={"A": mocks.returns({"ok": 1})}).output == {"ok": 1}


def test_inline_code(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": """
        Resources:
          Fn:
            Type: AWS::Lambda::Function
            Properties:
              Runtime: python3.12
              Handler: index.handler
              Code:
                ZipFile: |
                  def handler(event, context):
                      return {"inline": event}
          Flow:
            Type: AWS::StepFunctions::StateMachine
            Properties:
              Definition: {StartAt: A, States: {A: {Type: Task, Resource: !GetAtt Fn.Arn, End: true}}}
    """})
    from flowengine.testing import run_flow

    assert run_flow(load(t), input=1).output == {"inline": 1}


# --- resources and events ---------------------------------------------------------------------------


def test_resources_triggers_and_not_modelled_types(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Resources:
          Dlq: {Type: AWS::SQS::Queue}
          Jobs:
            Type: AWS::SQS::Queue
            Properties:
              VisibilityTimeout: 60
              RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 2}
          Uploads:
            Type: AWS::S3::Bucket
            Properties: {NotificationConfiguration: {EventBridgeConfiguration: {EventBridgeEnabled: true}}}
          Alerts: {Type: AWS::SNS::Topic}
          Bus: {Type: AWS::Events::EventBus, Properties: {Name: shop}}
          Orders:
            Type: AWS::DynamoDB::Table
            Properties:
              AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: N}]
              KeySchema: [{AttributeName: sk, KeyType: RANGE}, {AttributeName: pk, KeyType: HASH}]
          RoleA: {Type: AWS::IAM::Role}
          RoleB: {Type: AWS::IAM::Role}
          Worker:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: .
              Handler: app.handler
              Runtime: python3.12
              Events:
                Q: {Type: SQS, Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 5, FilterCriteria: {Filters: []}}}
                T: {Type: SNS, Properties: {Topic: !Ref Alerts, FilterPolicy: {kind: [a]}}}
                Stream: {Type: DynamoDB, Properties: {Stream: !GetAtt Orders.StreamArn, StartingPosition: LATEST}}
          Flow:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition: {StartAt: A, States: {A: {Type: Pass, End: true}}}
              Events:
                Nightly: {Type: Schedule, Properties: {Schedule: rate(1 day)}}
                OnUpload:
                  Type: EventBridgeRule
                  Properties:
                    Pattern: {source: [aws.s3], detail-type: [Object Created], detail: {bucket: {name: [!Ref Uploads]}, object: {key: [{prefix: in/}]}}}
                OnOrder:
                  Type: EventBridgeRule
                  Properties: {EventBusName: !Ref Bus, Pattern: {source: [shop]}, InputPath: $.detail}
                Start: {Type: Api, Properties: {Path: /go, Method: post}}
    """})
    loaded = load(t)
    app = loaded.app
    assert {n: r.kind for n, r in app.resources.items()} == {
        "Dlq": "queue", "Jobs": "queue", "Uploads": "bucket", "Alerts": "topic", "Bus": "event_bus", "Orders": "table"}
    assert app.resources["Jobs"].properties == {"visibility_timeout": 60,
                                                "dead_letter": {"queue": "Dlq", "max_receive_count": 2}}
    assert app.resources["Orders"].properties["key"] == {"pk": "S", "sk": "N"}
    triggers = {t.name: (t.source, t.resource, t.target) for t in app.triggers}
    assert triggers == {
        "WorkerQ": ("queue", "Jobs", "Worker"), "WorkerT": ("topic", "Alerts", "Worker"),
        "WorkerStream": ("table", "Orders", "Worker"),
        "FlowNightly": ("schedule", None, "Flow"), "FlowOnUpload": ("bucket", "Uploads", "Flow"),
        "FlowOnOrder": ("event_pattern", "Bus", "Flow"), "FlowStart": ("api", None, "Flow"),
    }
    by_name = {t.name: t for t in app.triggers}
    assert by_name["FlowOnUpload"].options["prefix"] == "in/"
    assert by_name["FlowOnOrder"].options["input_path"] == "$.detail"
    warnings = sorted((d.code, d.message.split(" ")[0]) for d in validate_app(loaded))
    assert ("FE901", "AWS::IAM::Role") in warnings
    assert sum(1 for c, m in warnings if m == "AWS::IAM::Role") == 1  # once per type
    # the DynamoDB stream event fires locally (docs/sam.md), and says the table has no stream on AWS
    assert ("FE910", "table") in warnings
    assert not any(c == "FE909" for c, _ in warnings)
    assert "filter" not in by_name["WorkerQ"].options  # FilterCriteria with no filters: every message


def test_local_names_match_the_emulation() -> None:
    from flowengine.events.emulation import local_name as emulated

    for app, res, kind in [("my-proj", "OrdersTable", "table"), ("X", "B", "bucket"), ("a" * 70, "Q", "queue"),
                           ("sam_app", "JobsQueue", "queue")]:
        assert local_name(app, res, kind) == emulated(app, res, kind)


def test_send_an_api_event_to_a_state_machine(tmp_path: Path, capsys: Any) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Resources:
          Flow:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition: {StartAt: A, States: {A: {Type: Pass, End: true}}}
              Events:
                Start: {Type: Api, Properties: {Path: /orders, Method: post}}
    """})
    event = tmp_path / "api.json"
    assert main(["event", "generate", "apigateway", "--method", "POST", "--path", "/orders"]) == 0
    event.write_text(capsys.readouterr().out)
    assert main(["send", str(t), str(event), "--fresh"]) == 0
    assert "Flow" in capsys.readouterr().out


# --- plain ASL placeholders -------------------------------------------------------------------------


def test_plain_asl_substitute_and_unresolved(tmp_path: Path, capsys: Any) -> None:
    p = tmp_path / "flow.asl.json"
    p.write_text('{"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": ${N}, "ItemsPath": "$.xs",\n'
                 '  "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "${Word}", "End": true}}},'
                 ' "End": true}}}')
    found = [(d.code, d.span.line, d.span.col, d.severity) for d in validate_path(str(p))]
    assert found == [("FE906", 1, 68, "warning"), ("FE906", 2, 81, "warning")]
    subs = tmp_path / "subs.json"
    subs.write_text('{"Word": "hi", "N": 1}')
    assert main(["run", str(p), "--substitutions", str(subs), "--substitute", "N=2", "--input", '{"xs": [1, 2]}',
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == ["hi", "hi"]
    assert main(["validate", str(p), "--substitute", "N"]) == 2


def test_physical_names_are_the_emulated_names(tmp_path: Path) -> None:
    """A table named with TableName and spelt out elsewhere (not by Ref), as templates do to
    avoid circular dependencies, is the one the definition and the handler reach."""
    t = write(tmp_path, {
        "template.yaml": HEAD + """
            Resources:
              Orders:
                Type: AWS::DynamoDB::Table
                Properties:
                  TableName: !Sub "${AWS::StackName}-orders"
                  AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
                  KeySchema: [{AttributeName: id, KeyType: HASH}]
              Count:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: src/
                  Handler: app.handler
                  Runtime: python3.12
                  Environment: {Variables: {TABLE: !Sub "${AWS::StackName}-orders"}}
              Flow:
                Type: AWS::Serverless::StateMachine
                Properties:
                  Definition:
                    StartAt: Put
                    States:
                      Put:
                        Type: Task
                        Resource: arn:aws:states:::dynamodb:putItem
                        Parameters: {TableName: "${Name}", Item: {id: {S: one}}}
                        ResultPath: null
                        Next: Count
                      Count: {Type: Task, Resource: !GetAtt Count.Arn, End: true}
                  DefinitionSubstitutions:
                    Name: !Sub "${AWS::StackName}-orders"
        """,
        "src/app.py": "import os, boto3\ndef handler(event, context):\n"
                      "    return boto3.client('dynamodb').scan(TableName=os.environ['TABLE'])['Count']\n",
    })
    loaded = load(t)
    assert loaded.app.resources["Orders"].properties["name"] == f"{loaded.app.name}-orders"
    from flowengine.testing import run_flow

    result = run_flow(loaded, input={})
    assert (result.status, result.output) == ("SUCCEEDED", 1), result.cause


def test_event_schedules_and_patterns_are_checked_where_written(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Resources:
          Flow:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition: {StartAt: A, States: {A: {Type: Pass, End: true}}}
              Events:
                Often: {Type: Schedule, Properties: {Schedule: rate(5 minute)}}
                Odd: {Type: EventBridgeRule, Properties: {Pattern: {source: orders}}}
    """})
    found = sorted((d.code, d.span.line) for d in validate_app(load(t)) if d.severity == "error")
    assert found == [("FE616", 9), ("FE624", 10)]


def test_definition_uri_stays_inside_the_template_directory(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("api_key: hunter2\n")
    project = tmp_path / "proj"
    t = write(project, {
        "template.yaml": HEAD + """
            Resources:
              Out:
                Type: AWS::Serverless::StateMachine
                Properties: {DefinitionUri: ../secret.yaml}
              NotAsl:
                Type: AWS::Serverless::StateMachine
                Properties: {DefinitionUri: notes.yaml}
        """,
        "notes.yaml": "password: hunter2\n",
    })
    found = validate_app(load(t))
    assert [(d.code, d.span.line) for d in found] == [("FE110", 6), ("FE111", 9)]
    assert not any("hunter2" in d.format() or "api_key" in d.format() for d in found)


def test_local_layers_are_on_the_import_path_and_schedule_v2(tmp_path: Path) -> None:
    t = write(tmp_path, {
        "template.yaml": HEAD + """
            Resources:
              Shared:
                Type: AWS::Serverless::LayerVersion
                Properties: {ContentUri: layers/shared/}
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: src/
                  Handler: app.handler
                  Runtime: python3.12
                  Layers: [!Ref Shared]
                  Events:
                    Nightly:
                      Type: ScheduleV2
                      Properties: {ScheduleExpression: "cron(0 3 * * ? *)", ScheduleExpressionTimezone: Europe/Paris}
              Flow:
                Type: AWS::Serverless::StateMachine
                Properties:
                  Definition: {StartAt: A, States: {A: {Type: Task, Resource: !GetAtt Fn.Arn, End: true}}}
        """,
        "layers/shared/python/greeting.py": "def greet(name):\n    return f'hello {name}'\n",
        "src/app.py": "from greeting import greet\ndef handler(event, context):\n    return greet(event['name'])\n",
    })
    loaded = load(t)
    (trigger,) = loaded.app.triggers
    assert (trigger.source, trigger.target, trigger.options["schedule"], trigger.options["timezone"]) == (
        "schedule", "Fn", "cron(0 3 * * ? *)", "Europe/Paris")
    from flowengine.testing import run_flow

    assert run_flow(loaded, input={"name": "sam"}).output == "hello sam"


def test_loads_takes_template_text() -> None:
    from flowengine.dsl.app import loads

    loaded = loads(HEAD + "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n"
                   "    Properties: {Definition: {StartAt: A, States: {A: {Type: Pass, Result: !Ref AWS::Region, End: true}}}}\n")
    assert loaded.template is not None
    assert loaded.app.flows["M"].asl["States"]["A"]["Result"] == "us-east-1"


def test_an_input_transformer_is_said_not_dropped(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Resources:
          Flow:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition: {StartAt: A, States: {A: {Type: Pass, End: true}}}
              Events:
                E:
                  Type: EventBridgeRule
                  Properties:
                    Pattern: {source: [shop]}
                    InputTransformer: {InputPathsMap: {id: $.id}, InputTemplate: '{"id": <id>}'}
    """})
    (d,) = validate_app(load(t))
    assert (d.code, d.severity, d.span.line) == ("FE909", "warning", 13)


def test_deployment_preference_is_the_rollout(tmp_path: Path) -> None:
    t = write(tmp_path, {"template.yaml": HEAD + """
        Resources:
          Check:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: ., Handler: app.handler, Runtime: python3.12}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: .
              Handler: app.handler
              Runtime: python3.12
              AutoPublishAlias: live
              DeploymentPreference:
                Type: Linear10PercentEvery2Minutes
                Hooks: {PreTraffic: !Ref Check}
          Flow:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition: {StartAt: A, States: {A: {Type: Task, Resource: !GetAtt Fn.Arn, End: true}}}
    """})
    rollout = load(t).app.functions["Fn"].rollout
    assert rollout is not None
    assert (rollout.strategy, rollout.percent, rollout.interval_minutes, rollout.pre_traffic_hook) == (
        "linear", 10, 2, "Check")
