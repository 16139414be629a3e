"""A flow's own ``policies:``: validated, compiled after the derived ones with ``${X}`` resolved,
and taking responsibility for the Tasks whose permissions compile cannot derive (issue 13)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowengine.compile import check_template, compile_app
from flowengine.dsl.app import load
from flowengine.dsl.sam_import import import_template
from flowengine.errors import ValidationError
from flowengine.validate import validate_path

CODE = Path(__file__).resolve().parent / "apps" / "code"

#: A Task whose target is known only at run time: compile cannot derive its permissions (FE807).
DYNAMIC_CALL = """
    StartAt: Call
    States:
      Call:
        Type: Task
        Resource: arn:aws:states:::lambda:invoke
        Parameters: {FunctionName.$: $.fn, Payload.$: $}
        End: true
"""


def write_app(tmp_path: Path, policies: str | None, states: str = DYNAMIC_CALL) -> Path:
    flow = "  Main:\n"
    if policies is not None:
        flow += textwrap.indent(textwrap.dedent(policies).strip("\n"), "    ") + "\n"
    flow += textwrap.dedent(states).strip("\n").replace("\n", "\n    ").join(["    ", "\n"])
    text = (f"app: pol\ncode: {CODE}\nfunctions:\n  Fn: {{handler: sink.handlers.echo}}\n"
            "resources:\n  Files: {type: bucket}\n  Jobs: {type: queue}\nflows:\n" + flow)
    path = tmp_path / "app.yaml"
    path.write_text(text)
    return path


def machine(compiled: Any) -> dict[str, Any]:
    resource: dict[str, Any] = compiled.template["Resources"]["Main"]
    return resource


POLICIES = """
policies:
  - AWSLambdaRole
  - {S3ReadPolicy: {BucketName: "${Files}"}}
  - Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Action: [sqs:SendMessage]
        Resource: ["${JobsArn}", "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:other"]
      - Effect: Allow
        Action: lambda:InvokeFunction
        Resource: "${FnArn}:*"
"""


def test_declared_policies_follow_the_derived_ones_with_placeholders_resolved(tmp_path: Path) -> None:
    compiled = compile_app(load(write_app(tmp_path, POLICIES)))
    res = machine(compiled)
    policies = res["Properties"]["Policies"]
    declared = policies[-3:]
    assert declared[0] == "AWSLambdaRole"
    # ${Files} is the bucket's name, exactly what compile writes for the bucket itself
    bucket_name = compiled.template["Resources"]["Files"]["Properties"]["BucketName"]
    assert declared[1] == {"S3ReadPolicy": {"BucketName": bucket_name}}
    first, second = declared[2]["Statement"]
    assert first["Resource"] == [
        {"Fn::GetAtt": ["Jobs", "Arn"]},
        {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:other"},
    ]
    assert second["Resource"] == {"Fn::Sub": ["${FnArn}:*", {"FnArn": {"Fn::GetAtt": ["Fn", "Arn"]}}]}
    assert res["Metadata"] == {"flowengine": {"declared_policies": 3}}
    assert check_template(compiled.template) == []


def test_fe807_is_a_warning_once_the_flow_declares_policies(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as exc:
        compile_app(load(write_app(tmp_path, None)))
    assert [d.code for d in exc.value.diagnostics if d.severity == "error"] == ["FE807"]

    compiled = compile_app(load(write_app(tmp_path, "policies: arn:aws:iam::aws:policy/service-role/AWSLambdaRole")))
    fe807 = [d for d in compiled.warnings if d.code == "FE807"]
    assert len(fe807) == 1 and "declared policies" in fe807[0].message and fe807[0].state_path == "Call"
    assert machine(compiled)["Properties"]["Policies"][-1] == "arn:aws:iam::aws:policy/service-role/AWSLambdaRole"
    assert check_template(compiled.template) == []


def test_a_declared_policy_equal_to_a_derived_one_is_written_once(tmp_path: Path) -> None:
    states = """
        StartAt: Run
        States:
          Run: {Type: Task, Function: Fn, End: true}
    """
    policies = 'policies: [{LambdaInvokePolicy: {FunctionName: "${Fn}"}}]'
    compiled = compile_app(load(write_app(tmp_path, policies, states)))
    res = machine(compiled)
    assert res["Properties"]["Policies"] == [{"LambdaInvokePolicy": {"FunctionName": {"Ref": "Fn"}}}]
    assert "Metadata" not in res


def test_wildcard_actions_are_the_authors_but_not_compiles(tmp_path: Path) -> None:
    policies = 'policies: {Statement: [{Effect: Allow, Action: "logs:*", Resource: "*"}]}'
    compiled = compile_app(load(write_app(tmp_path, policies)))
    assert check_template(compiled.template) == []
    # the same statement as a derived policy (no Metadata count) is still refused
    del machine(compiled)["Metadata"]
    assert any("allows every action" in p for p in check_template(compiled.template))


def test_a_placeholder_that_names_nothing_is_refused_where_it_is_written(tmp_path: Path) -> None:
    path = write_app(tmp_path, 'policies: {S3ReadPolicy: {BucketName: "${Fils}"}}')
    found = [d for d in validate_path(str(path), check_handlers=False) if d.severity == "error"]
    assert [(d.code, d.span.line) for d in found] == [("FE611", 10)]
    assert "did you mean 'Files'" in (found[0].hint or "")
    with pytest.raises(ValidationError):
        compile_app(load(path))


@pytest.mark.parametrize(("policies", "expected"), [
    ("policies: 42", [("FE603", "error")]),
    ("policies: [AmazonS3ReadOnlyAcess]", [("FE604", "warning")]),
    ("policies: [{S3ReedPolicy: {BucketName: x}}]", [("FE604", "error")]),
    ("policies: [{S3ReadPolicy: {Bucket: x}}]", [("FE601", "error"), ("FE602", "error")]),
    ('policies: [{"Fn::Sub": "arn:aws:iam::aws:policy/x"}]', [("FE603", "error")]),
    ("policies: [{a: 1, b: 2}]", [("FE604", "error")]),
    ("policies: [{Statement: [{Effect: allow, Action: s3:GetObject, Resource: '*'}]}]", [("FE604", "error")]),
    ("policies: [{Statement: [{Effect: Allow, Principal: '*', Action: s3:GetObject, Resource: '*'}]}]",
     [("FE601", "error")]),
    ("policies: [{Statement: [{Effect: Allow, Resource: '*'}]}]", [("FE602", "error")]),
    ("policies: [{Statement: [{Effect: Allow, Action: x:Y, Resource: {Ref: Files}}]}]", [("FE603", "error")]),
    ("policies: [{Version: '2012-10-17'}]", [("FE602", "error")]),
])
def test_wrong_shapes_are_located_errors(tmp_path: Path, policies: str, expected: list[tuple[str, str]]) -> None:
    path = write_app(tmp_path, policies)
    found = [d for d in validate_path(str(path), check_handlers=False) if d.code.startswith("FE6")]
    assert sorted((d.code, d.severity) for d in found) == expected
    assert all(d.span.line == 10 and d.hint for d in found)


def test_import_of_the_compiled_app_gives_back_the_declared_policies_only(tmp_path: Path) -> None:
    states = """
        StartAt: Run
        States:
          Run: {Type: Task, Function: Fn, Next: Call}
          Call:
            Type: Task
            Resource: arn:aws:states:::lambda:invoke
            Parameters: {FunctionName.$: $.fn}
            End: true
    """
    original = compile_app(load(write_app(tmp_path, POLICIES + '  - "arn:aws:s3:::${!aws:username}/*"\n', states)))
    original.write(tmp_path / "build")
    result = import_template(tmp_path / "build" / "template.yaml", tmp_path / "back.yaml")
    (tmp_path / "back.yaml").write_text(result.text)
    assert result.warnings == []
    back = load(tmp_path / "back.yaml").app.flows["Main"]
    assert back.policies[:2] == ("AWSLambdaRole", {"S3ReadPolicy": {"BucketName": "${Files}"}})
    assert back.policies[3] == "arn:aws:s3:::${!aws:username}/*"
    again = compile_app(load(tmp_path / "back.yaml"))
    assert again.to_yaml(tmp_path / "out") == original.to_yaml(tmp_path / "out")
