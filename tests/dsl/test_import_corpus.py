"""Issue 13's acceptance for ``flowengine import`` on the collected SAM projects
(tests/samprojects/, see its NOTICE): import → validate → compile → SAM transform and cfn-lint.

Every project must get through every stage, with one exception named below with its reason:
a project whose template is broken as collected (``sam build`` fails on it the same way),
where the test asserts the stage that stops it and the diagnostic that says why.  A
template's parameters with no ``Default`` get the values ``sam deploy --guided`` would ask
for (``PARAMETER_OVERRIDES``), as ``--parameter-overrides`` or a samconfig.toml gives them.

``python tests/dsl/test_import_corpus.py`` prints the count at each stage.  Each project is
copied to a temporary directory first; nothing is written into the repository.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from flowengine.compile import check_template, compile_app
from flowengine.dsl.app import load
from flowengine.dsl.sam_import import import_template
from flowengine.errors import ValidationError
from flowengine.validate import validate_app

CORPUS = Path(__file__).resolve().parents[1] / "samprojects"
TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
PROJECTS = sorted(p for p in CORPUS.iterdir() if p.is_dir() and any(
    (p / n).is_file() for n in TEMPLATE_NAMES)) if CORPUS.is_dir() else []
#: Projects broken as collected: (the stage they reach, the code that stops them, why).
UPSTREAM_BROKEN = {
    "serverless-patterns--appsync-lambda-sfn-sam": (
        "validated", "FE814", "its CodeUri src/lambda/ does not exist upstream (the code is in src/): sam build "
        "fails on it too"),
}
#: Values for the parameters a template declares with no Default, as ``sam deploy --guided``
#: would ask for them (``flowengine import --parameter-overrides K=V``).
PARAMETER_OVERRIDES: dict[str, dict[str, str]] = {
    "serverless-patterns--sfn-lambda-function-crossaccount": {
        "CrossAccountID": "111122223333", "LambdaFunctionName": "crossAccountFunction", "Region": "us-east-1"},
    "serverless-patterns--sfn-ecs-sam": {
        "ECSCluster": "arn:aws:ecs:us-east-1:111122223333:cluster/demo",
        "TaskDefinition": "arn:aws:ecs:us-east-1:111122223333:task-definition/demo:1", "TaskName": "demo",
        "EcsTaskExecutionRole": "arn:aws:iam::111122223333:role/demo-execution",
        "EcsTaskRole": "arn:aws:iam::111122223333:role/demo-task", "VpcSubnet": "subnet-0123456789abcdef0"},
    "sfn-workflows--dynamodb-migrations": {
        "TableName": "Orders", "TableARN": "arn:aws:dynamodb:us-east-1:111122223333:table/Orders"},
    "sfn-workflows--dynamodb-transfer": {
        "SourceTableName": "Source", "SourceTableARN": "arn:aws:dynamodb:us-east-1:111122223333:table/Source",
        "TargetTableName": "Target", "TargetTableARN": "arn:aws:dynamodb:us-east-1:111122223333:table/Target"},
}


def run_project(project: Path, work: Path) -> tuple[str, list[str], list[str]]:
    """Import, validate, compile and check one project in ``work``: the last stage passed
    (``imported``, ``validated``, ``compiled``, ``checked``), the problems that stopped it,
    and what the import reported as not carried over."""
    copy = work / project.name
    shutil.copytree(project, copy)
    template = next(copy / n for n in TEMPLATE_NAMES if (copy / n).is_file())
    out = copy / "flowengine-app.yaml"
    result = import_template(template, out, parameters=PARAMETER_OVERRIDES.get(project.name))
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors:
        return "none", [d.format() for d in errors], result.warnings
    out.write_text(result.text)
    loaded = load(out)
    errors = [d for d in validate_app(loaded) if d.severity == "error"]
    if errors:
        return "imported", [f"{d.code} {d.format()}" for d in errors], result.warnings
    try:
        compiled = compile_app(loaded)
    except ValidationError as exc:
        return ("validated", [f"{d.code} {d.format()}" for d in exc.diagnostics if d.severity == "error"],
                result.warnings)
    problems = [p for p in check_template(compiled.template) if not p.startswith("[lint] W")]
    return ("compiled" if problems else "checked"), problems, result.warnings


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_import_validate_compile_check(project: Path, tmp_path: Path) -> None:
    stage, problems, _ = run_project(project, tmp_path)
    if project.name in UPSTREAM_BROKEN:
        expected_stage, code, _why = UPSTREAM_BROKEN[project.name]
        assert (stage, {p.split(" ", 1)[0] for p in problems}) == (expected_stage, {code}), problems
        return
    assert (stage, problems) == ("checked", [])


if __name__ == "__main__":  # the counts of the note
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as work:
        for project in PROJECTS:
            stage, problems, _ = run_project(project, Path(work))
            counts[stage] += 1
            codes = sorted({p.split(" ", 1)[0] for p in problems})
            print(f"{project.name:70} {stage:10} {' '.join(codes)}", file=sys.stderr)
    order = ["none", "imported", "validated", "compiled", "checked"]
    reached = {s: sum(counts[t] for t in order[i:]) for i, s in enumerate(order)}
    print(f"{len(PROJECTS)} projects: imported {reached['imported']}, validate {reached['validated']}, "
          f"compile {reached['compiled']}, SAM transform + cfn-lint {reached['checked']}")
