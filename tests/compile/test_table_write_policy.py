"""`writes: [Table]` is least privilege (issue 11, item 14): SAM's DynamoDBWritePolicy and
DeleteItem, not DynamoDBCrudPolicy, which also grants every read; reading and writing the same
table still gets DynamoDBCrudPolicy, which is exactly both."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import samtranslator

from flowengine.compile import compile_app
from flowengine.dsl.app import loads

APP = """\
app: t
code: .
functions:
  Writer: {handler: h.w, writes: [Items]}
  Both: {handler: h.b, reads: [Items], writes: [Items]}
resources:
  Items: {type: table, key: {id: S}}
"""


def _policies(tmp_path: Path) -> dict[str, list[Any]]:
    (tmp_path / "h.py").write_text("def w(e, c):\n    return 1\n\ndef b(e, c):\n    return 1\n")
    (tmp_path / "app.yaml").write_text(APP)
    template = compile_app(loads(APP, str(tmp_path / "app.yaml"))).template
    return {name: template["Resources"][name]["Properties"]["Policies"] for name in ("Writer", "Both")}


def _template_actions(name: str) -> set[str]:
    path = os.path.join(os.path.dirname(samtranslator.__file__), "policy_templates_data", "policy_templates.json")
    statements = json.load(open(path, encoding="utf-8"))["Templates"][name]["Definition"]["Statement"]
    return {a for s in statements for a in s["Action"]}


def test_writing_a_table_grants_writes_and_deletes_only(tmp_path: Path) -> None:
    writer = _policies(tmp_path)["Writer"]
    assert writer[0] == {"DynamoDBWritePolicy": {"TableName": {"Ref": "Items"}}}
    assert writer[1]["Statement"] == [{"Effect": "Allow", "Action": ["dynamodb:DeleteItem"],
                                       "Resource": {"Fn::GetAtt": ["Items", "Arn"]}}]
    granted = _template_actions("DynamoDBWritePolicy") | {"dynamodb:DeleteItem"}
    assert not granted & _template_actions("DynamoDBReadPolicy")


def test_reading_and_writing_a_table_is_the_crud_template(tmp_path: Path) -> None:
    assert _policies(tmp_path)["Both"] == [{"DynamoDBCrudPolicy": {"TableName": {"Ref": "Items"}}}]
    crud = _template_actions("DynamoDBCrudPolicy")
    both = _template_actions("DynamoDBReadPolicy") | _template_actions("DynamoDBWritePolicy") | {"dynamodb:DeleteItem"}
    assert crud - both == {"dynamodb:ConditionCheckItem"}  # Crud adds no more than that
