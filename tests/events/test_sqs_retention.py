"""A message nobody can process, on a queue with no dead-letter queue, is deleted when its
retention period ends, as SQS does: the runtime goes idle instead of redelivering forever."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

APPS = Path(__file__).parent / "apps"


def test_a_poison_message_expires_after_four_days_and_the_runtime_goes_idle() -> None:
    # In a subprocess under a hard timeout: a regression would redeliver forever.
    script = textwrap.dedent(f"""
        import boto3, datetime as dt
        from flowengine.runtime.app import AppRuntime
        with AppRuntime({str(APPS / "poison.yaml")!r}) as rt:
            boto3.client("sqs").send_message(QueueUrl=rt.url("Work"), MessageBody="poison")
            start = rt.now
            rt.run_until_idle()
            [expired] = rt.log.of("sqs", action="expired")
            failures = [i for i in rt.invocations_of("Fail") if not i.ok]
            print((rt.now - start).total_seconds(), expired.time - start.timestamp(), len(failures))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    _elapsed, expired_after, failures = done.stdout.split()
    assert float(expired_after) >= dt.timedelta(days=4).total_seconds()
    assert float(expired_after) <= dt.timedelta(days=4, hours=12).total_seconds()
    assert int(failures) == 8  # one receive every 12 h visibility timeout for four days
