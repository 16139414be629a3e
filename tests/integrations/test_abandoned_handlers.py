"""Handlers that hang or leak threads never hold the process (issue 11, item 2).

A handler that outlives its timeout is *abandoned* on a daemon thread of the clock's own
executor, and ``flowengine run`` exits within a few seconds of its result even when a handler
leaked non-daemon threads.  The process-level checks run in a subprocess under a hard timeout,
so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from flowengine.engine.clock import HandlerThreads

from .test_handler_exits import _app


# -- handler threads: abandoned ones never hold the process ----------------------------------------


def test_an_abandoned_call_gives_its_place_to_the_next_one() -> None:
    pool = HandlerThreads(max_workers=1)
    release = threading.Event()
    try:
        stuck = pool.submit(release.wait)
        while not stuck.running():
            threading.Event().wait(0.001)
        queued = pool.submit(lambda: "second")
        assert not queued.done()  # the only worker is busy
        pool.abandon(stuck)  # e.g. its handler timed out
        assert queued.result(timeout=30) == "second"
        assert all(t.daemon for t in threading.enumerate() if t.name.startswith("flowengine-handler"))
    finally:
        release.set()
        pool.shutdown(wait=False)


def _run_cli(app: str) -> subprocess.CompletedProcess[str]:
    script = f"import sys; sys.argv = ['flowengine', 'run', {app!r}]; from flowengine.cli import main; sys.exit(main())"
    # A hard timeout, not a timing assertion: before the fix these never exited.
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_run_exits_after_a_handler_timed_out_while_it_still_hangs(tmp_path: Path) -> None:
    app = _app(tmp_path, "hanging_handler", """\
        import threading
        def handler(event, context):
            threading.Event().wait()  # never returns
        """, timeout="1s")
    done = _run_cli(app)
    assert done.returncode == 1, done.stderr
    assert "Sandbox.Timedout" in done.stdout


def test_run_exits_after_a_handler_leaked_a_non_daemon_thread(tmp_path: Path) -> None:
    app = _app(tmp_path, "leaking_handler", """\
        import threading
        def handler(event, context):
            threading.Thread(target=threading.Event().wait, name="leaked").start()
            return {"ok": True}
        """)
    done = _run_cli(app)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("SUCCEEDED") and '"ok": true' in done.stdout


def test_the_interpreter_exits_while_an_abandoned_handler_still_runs() -> None:
    # What pytest does at the end of a session: a plain interpreter exit, no os._exit.
    script = textwrap.dedent("""
        import threading
        from flowengine.runtime.engine import Engine
        from flowengine.integrations.lambda_local import LambdaFunction

        def hang(event, context):
            threading.Event().wait()

        definition = {"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hang", "End": True}}}
        with Engine(handlers={"hang": LambdaFunction("hang", hang, timeout_seconds=0.2)}, validate=False) as e:
            print(e.run(definition).error)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "Sandbox.Timedout"), done.stderr
