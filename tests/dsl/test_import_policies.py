"""``flowengine import`` carries a state machine's permissions over as the flow's ``policies:``:
its SAM ``Policies``, or what the template role its ``Role``/``RoleArn`` names grants (issue 13)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from flowengine.compile import check_template, compile_app
from flowengine.dsl.app import load
from flowengine.dsl.sam_import import ImportResult, import_template

HEADER = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  TableArnParam: {Type: String, Default: "arn:aws:dynamodb:eu-west-1:111122223333:table/legacy"}
  RoleArnParam: {Type: String}
Resources:
  Files: {Type: AWS::S3::Bucket}
  Jobs: {Type: AWS::SQS::Queue}
  Cluster: {Type: AWS::ECS::Cluster}
"""
#: The state machine's definition, indented as the tests' templates indent Properties' keys.
DEFINITION = textwrap.indent(textwrap.dedent("""
    Definition:
      StartAt: Call
      States:
        Call:
          Type: Task
          Resource: arn:aws:states:::lambda:invoke
          Parameters: {FunctionName.$: $.fn, Payload.$: $}
          End: true
"""), " " * 12)


def imported(tmp_path: Path, resources: str, **kw: Any) -> tuple[ImportResult, Any]:
    text = textwrap.dedent(HEADER).lstrip() + textwrap.indent(textwrap.dedent(resources).strip("\n"), "  ") + "\n"
    (tmp_path / "template.yaml").write_text(text)
    result = import_template(tmp_path / "template.yaml", tmp_path / "app.yaml", **kw)
    (tmp_path / "app.yaml").write_text(result.text)
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    return result, load(tmp_path / "app.yaml").app.flows["Machine"]


def test_sam_policies_come_over_with_app_references(tmp_path: Path) -> None:
    result, flow = imported(tmp_path, """
        Machine:
          Type: AWS::Serverless::StateMachine
          Properties:
            Policies:
              - AWSLambdaRole
              - S3ReadPolicy: {BucketName: !Ref Files}
              - Statement:
                  - Effect: Allow
                    Action: [sqs:SendMessage]
                    Resource: [!GetAtt Jobs.Arn, !Sub "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:x"]
                  - Effect: Allow
                    Action: dynamodb:PutItem
                    Resource: !Ref TableArnParam
                  - Effect: Allow
                    Action: s3:GetObject
                    Resource: !Join ["", [!GetAtt Files.Arn, "/", !Ref "AWS::Region", "/*"]]""" + DEFINITION)
    assert flow.policies == (
        "AWSLambdaRole",
        {"S3ReadPolicy": {"BucketName": "${Files}"}},
        {"Statement": [
            {"Effect": "Allow", "Action": ["sqs:SendMessage"],
             "Resource": ["${JobsArn}", "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:x"]},
            {"Effect": "Allow", "Action": "dynamodb:PutItem",
             "Resource": "arn:aws:dynamodb:eu-west-1:111122223333:table/legacy"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "${FilesArn}/${AWS::Region}/*"},
        ]},
    )
    assert not [w for w in result.warnings if "Policies" in w or "polic" in w]
    compiled = compile_app(load(tmp_path / "app.yaml"))  # FE807 (FunctionName.$) is now a warning
    assert [d.code for d in compiled.warnings] == ["FE807"]
    assert check_template(compiled.template) == []


def test_a_template_role_comes_over_with_its_policies_and_attached_policy(tmp_path: Path) -> None:
    result, flow = imported(tmp_path, """
        MachineRole:
          Type: AWS::IAM::Role
          Properties:
            AssumeRolePolicyDocument:
              Statement: [{Effect: Allow, Principal: {Service: states.amazonaws.com}, Action: sts:AssumeRole}]
            ManagedPolicyArns: [!Sub "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"]
            Policies:
              - PolicyName: Send
                PolicyDocument:
                  Version: "2012-10-17"
                  Statement: [{Effect: Allow, Action: sqs:SendMessage, Resource: !GetAtt Jobs.Arn}]
        Extra:
          Type: AWS::IAM::Policy
          Properties:
            PolicyName: extra
            PolicyDocument:
              Statement: [{Effect: Allow, Action: states:ListExecutions, Resource: "*"}]
            Roles: [!Ref MachineRole]
        Machine:
          Type: AWS::Serverless::StateMachine
          Properties:
            Role: !GetAtt MachineRole.Arn""" + DEFINITION)
    assert flow.policies == (
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "${JobsArn}"}]},
        "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess",
        {"Statement": [{"Effect": "Allow", "Action": "states:ListExecutions", "Resource": "*"}]},
    )
    # compile writes the state machine's role: the template's role and policy are absorbed
    assert not [w for w in result.warnings if "MachineRole" in w or "Extra" in w]
    assert check_template(compile_app(load(tmp_path / "app.yaml")).template) == []


def test_what_names_an_unmodelled_resource_is_dropped_and_said(tmp_path: Path) -> None:
    result, flow = imported(tmp_path, """
        Machine:
          Type: AWS::Serverless::StateMachine
          Properties:
            Policies:
              - Statement:
                  - Effect: Allow
                    Action: ecs:RunTask
                    Resource: [!GetAtt Jobs.Arn, !GetAtt Cluster.Arn]
                  - Effect: Allow
                    Action: ecs:StopTask
                    Resource: !Sub "arn:aws:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${Cluster}"
              - SQSPollerPolicy: {QueueName: !GetAtt Jobs.QueueName}""" + DEFINITION)
    assert flow.policies == ({"Statement": [{"Effect": "Allow", "Action": "ecs:RunTask", "Resource": ["${JobsArn}"]}]},)
    dropped = [w for w in result.warnings if "not carried over" in w and "Machine: policy" in w]
    assert len(dropped) == 3
    assert any("Fn::GetAtt Cluster.Arn (AWS::ECS::Cluster" in w for w in dropped)
    assert any("Ref Cluster (AWS::ECS::Cluster" in w for w in dropped)
    assert any("SQSPollerPolicy" in w and "Fn::GetAtt Jobs.QueueName" in w for w in dropped)


def test_a_role_outside_the_template_is_said_not_carried(tmp_path: Path) -> None:
    result, flow = imported(tmp_path, """
        Machine:
          Type: AWS::Serverless::StateMachine
          Properties:
            Role: arn:aws:iam::111122223333:role/shared""" + DEFINITION)
    assert flow.policies == ()
    assert any("role arn:aws:iam::111122223333:role/shared is not an AWS::IAM::Role of the template" in w
               for w in result.warnings)


def test_an_iam_policy_variable_stays_one(tmp_path: Path) -> None:
    _, flow = imported(tmp_path, """
        Machine:
          Type: AWS::Serverless::StateMachine
          Properties:
            Policies:
              - Statement:
                  - {Effect: Allow, Action: s3:GetObject, Resource: "arn:aws:s3:::home/${aws:username}/*"}""" + DEFINITION)
    assert flow.policies == ({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                             "Resource": "arn:aws:s3:::home/${!aws:username}/*"}]},)
    compiled = compile_app(load(tmp_path / "app.yaml"))
    statement = compiled.template["Resources"]["Machine"]["Properties"]["Policies"][-1]["Statement"][0]
    assert statement["Resource"] == {"Fn::Sub": "arn:aws:s3:::home/${!aws:username}/*"}


def test_a_parameter_with_no_value_grants_nothing_and_is_said(tmp_path: Path) -> None:
    machine = """
        Machine:
          Type: AWS::Serverless::StateMachine
          Properties:
            Policies:
              - Statement: [{Effect: Allow, Action: iam:PassRole, Resource: !Ref RoleArnParam}]""" + DEFINITION
    result, flow = imported(tmp_path, machine)
    assert flow.policies == ()
    assert any("parameter RoleArnParam, which has no value" in w and "--parameter-overrides RoleArnParam=" in w
               for w in result.warnings)
    _, flow = imported(tmp_path, machine, parameters={"RoleArnParam": "arn:aws:iam::111122223333:role/r"})
    assert flow.policies == ({"Statement": [{"Effect": "Allow", "Action": "iam:PassRole",
                                             "Resource": "arn:aws:iam::111122223333:role/r"}]},)
