"""The error matrix: one mistake at a time injected into a valid app file; each must stop
compile with a located diagnostic (``file:line:col CODE``) pointing at the mistake, and no
template may be written.

``stage`` says who catches it: ``compile`` (an FE8xx code of flowengine.compile, checked
exactly) or ``validate`` (flowengine.validate, any of its codes).  Kinds validation does not
know about are AWS-specific, and the compiler catches them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from flowengine.compile import compile_app
from flowengine.dsl.app import load
from flowengine.errors import LoadError, ValidationError

HERE = Path(__file__).resolve().parent
BASE = (HERE / "apps" / "error-matrix-base.yaml").read_text(encoding="utf-8")
CODE = str(HERE / "apps" / "code")


@dataclass(frozen=True)
class Mistake:
    kind: str
    old: str      # text of the base app to replace (must occur exactly once)
    new: str      # what replaces it
    at: str       # a text on the line the diagnostic must point at (must occur once after the change)
    stage: str    # "compile" → an FE8xx code, exactly ``code``; "validate" → any validation code
    code: str = ""
    also: tuple[tuple[str, str], ...] = ()  # further (old, new) edits the mistake needs


MISTAKES = [
    # --- AWS-specific: caught by the compiler -----------------------------------------------
    Mistake("rollout percent no CodeDeploy config has", "rollout: canary 10% every 5m", "rollout: canary 20% every 5m",
            "canary 20%", "compile", "FE804"),
    Mistake("traffic hook with its own rollout", "rollout: canary 10% every 5m",
            "rollout: {strategy: canary, percent: 10, interval: 5m, hooks: {pre_traffic: Verify}}",
            "pre_traffic: Verify", "compile", "FE806",
            also=(("handler: sink.handlers.check", "handler: sink.handlers.check\n    rollout: all-at-once"),)),
    Mistake("function as its own traffic hook", "rollout: canary 10% every 5m",
            "rollout: {strategy: canary, percent: 10, interval: 5m, hooks: {post_traffic: Store}}",
            "post_traffic: Store", "compile", "FE806"),
    Mistake("lambda:invoke FunctionName known only at run time", 'FunctionName: "${StoreArn}"',
            'FunctionName.$: "$.fn"', "FunctionName.$", "compile", "FE807"),
    Mistake("integration compile cannot grant", "arn:aws:states:::dynamodb:putItem",
            "arn:aws:states:::elasticmapreduce:addStep", "elasticmapreduce:addStep", "compile", "FE807"),
    Mistake("DynamoDB call that is not an optimized integration", "arn:aws:states:::dynamodb:putItem",
            "arn:aws:states:::dynamodb:query", "dynamodb:query", "compile", "FE807"),
    Mistake("sqs:sendMessage QueueUrl known only at run time", 'QueueUrl: "${Jobs}"', 'QueueUrl.$: "$.queue"',
            "QueueUrl.$", "compile", "FE807"),
    Mistake("dynamodb:putItem TableName known only at run time", 'TableName: "${Items}"', 'TableName.$: "$.table"',
            "TableName.$", "compile", "FE807"),
    Mistake("cross-account Credentials", "        Next: Send\n",
            "        Next: Send\n        Credentials: {RoleArn: 'arn:aws:iam::111122223333:role/other'}\n",
            "Credentials", "compile", "FE807"),
    Mistake("queue URL that names a table", 'QueueUrl: "${Jobs}"', 'QueueUrl: "${Items}"', "QueueUrl",
            "compile", "FE802"),
    Mistake("Task Resource that is a bucket", "        Function: Ingest\n", '        Resource: "${Uploads}"\n',
            'Resource: "${Uploads}"', "compile", "FE802"),
    Mistake("topic starting a flow", "{name: Nightly, schedule: rate(1 day), start: Main}",
            "{name: Nightly, topic: Alerts, start: Main}", "topic: Alerts", "compile", "FE809"),
    Mistake("batch over 10 without a batching window", "batch_size: 10", "batch_size: 50", "batch_size: 50",
            "compile", "FE810"),
    Mistake("FIFO queue batch over 10", "JobsDLQ: {type: queue}",
            "JobsDLQ: {type: queue}\n  Fifo: {type: queue, fifo: true}",
            "queue: Fifo", "compile", "FE810",
            also=(("  - {name: Nightly,", "  - {name: Ordered, queue: Fifo, batch_size: 50, batching_window: 5s, "
                   "invoke: Verify}\n  - {name: Nightly,"),)),
    Mistake("overlapping S3 notifications", "{name: Upload, bucket: Uploads, prefix: in/, invoke: Ingest}",
            "{name: Upload, bucket: Uploads, prefix: in/, invoke: Ingest}\n"
            "  - {name: Again, bucket: Uploads, prefix: in/x/, invoke: Verify}", "name: Again", "compile", "FE810"),
    Mistake("a topic read by a function", "reads: [Uploads]", "reads: [Uploads, Alerts]", "reads: [Uploads, Alerts]",
            "compile", "FE802"),
    Mistake("environment variable Lambda reserves", "TABLE_NAME: ${Items}", "AWS_REGION: eu-west-1",
            "AWS_REGION", "compile", "FE811"),
    Mistake("FIFO dead-letter queue for a standard queue", "JobsDLQ: {type: queue}",
            "JobsDLQ: {type: queue, fifo: true}", "dead_letter: {queue: JobsDLQ", "compile", "FE812"),
    Mistake("name SAM generates for another resource", "  Verify:\n    handler: sink.handlers.check",
            "  MainRole:\n    handler: sink.handlers.check", "MainRole:", "compile", "FE815"),
    Mistake("code directory that does not exist", "code: code", "code: no-such-dir", "code: no-such-dir",
            "compile", "FE814"),
    Mistake("state machine ARN that is not one", "arn:aws:states:::sqs:sendMessage",
            "arn:aws:states:::states:startExecution", "StateMachineArn", "compile", "FE807",
            also=(('QueueUrl: "${Jobs}"', "StateMachineArn: orders-machine"),)),
    # --- caught by validation -------------------------------------------------------------------
    Mistake("Task naming a function that does not exist", "Function: Ingest", "Function: Ingets",
            "Function: Ingets", "validate"),
    Mistake("Next to a state that does not exist", "Next: Send", "Next: Sned", "Next: Sned", "validate"),
    Mistake("placeholder naming nothing", 'TableName: "${Items}"', 'TableName: "${Itemz}"', "${Itemz}", "validate"),
    Mistake("schedule expression typo", "rate(1 day)", "rate(1 dayz)", "rate(1 dayz)", "validate"),
    Mistake("unknown resource type", "Alerts: {type: topic}", "Alerts: {type: topik}", "topik", "validate"),
    Mistake("memory below Lambda's minimum", "memory: 256}", "memory: 64}", "memory: 64", "validate"),
    Mistake("timeout above Lambda's maximum", "timeout: 20s", "timeout: 901s", "timeout: 901s", "validate"),
    Mistake("trigger naming a missing bucket", "bucket: Uploads, prefix", "bucket: Upload, prefix",
            "bucket: Upload,", "validate"),
    Mistake("BackoffRate below 1", "BackoffRate: 2", "BackoffRate: 0.5", "BackoffRate: 0.5", "validate"),
    Mistake("event loop: a function writes the bucket that triggers it", "reads: [Uploads]",
            "reads: [Uploads]\n    writes: [Uploads]", "name: Upload,", "validate",
            also=(("bucket: Uploads, prefix: in/,", "bucket: Uploads,"),)),
    Mistake("EXPRESS flow waiting for a task token", "arn:aws:states:::sqs:sendMessage",
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "waitForTaskToken", "validate",
            also=(("    type: standard", "    type: express"),)),
    Mistake("Python 2 runtime", "runtime: python3.12", "runtime: python2.7", "python2.7", "validate"),
    Mistake("table key type", "key: {id: S}", "key: {id: X}", "key: {id: X}", "validate"),
]


def mutate(m: Mistake) -> str:
    text = BASE if m.old == "code: code" else BASE.replace("code: code", f"code: {CODE}", 1)
    for old, new in ((m.old, m.new),) + m.also:
        assert text.count(old) == 1, f"{m.kind}: the anchor {old!r} must occur once in the base app"
        text = text.replace(old, new, 1)
    return text


def line_of(text: str, needle: str) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}; it must be on exactly one"
    return hits[0]


def test_the_matrix_is_large_enough() -> None:
    assert len({m.kind for m in MISTAKES}) == len(MISTAKES) >= 20
    assert sum(m.stage == "compile" for m in MISTAKES) >= 20


def test_the_base_app_compiles(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(BASE.replace("code: code", f"code: {CODE}", 1), encoding="utf-8")
    compile_app(load(str(path)))


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.kind)
def test_mistake_is_caught_and_located(mistake: Mistake, tmp_path: Path) -> None:
    text = mutate(mistake)
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "build"
    with pytest.raises((ValidationError, LoadError)) as caught:
        compile_app(load(str(path))).write(out)
    assert not out.exists(), "no template may be written for an app with errors"
    diagnostics = caught.value.diagnostics
    errors = [d for d in diagnostics if d.severity == "error"]
    assert errors
    for d in errors:
        assert re.fullmatch(rf"{re.escape(str(path))}:\d+:\d+: FE\d{{3}} .+", d.format().splitlines()[0]), d.format()
    line = line_of(text, mistake.at)
    here = [d for d in errors if d.span.line == line]
    assert here, f"nothing reported on line {line} ({mistake.at!r}); got:\n" + "\n".join(d.format() for d in errors)
    if mistake.stage == "compile":
        assert mistake.code in {d.code for d in here}, "\n".join(d.format() for d in errors)
    else:
        assert any(not d.code.startswith("FE8") for d in here), "\n".join(d.format() for d in errors)
