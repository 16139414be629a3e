"""The ``flowengine`` command: a thin shell over the library.

Exit codes (documented in the README):

* 0 — success: the file is valid, the execution SUCCEEDED, the compile wrote its output;
* 1 — problems found: validation diagnostics, or an execution that FAILED, TIMED_OUT or
  was ABORTED, or a deploy that failed;
* 2 — usage error: bad arguments, an unreadable or unparsable file, an input that is not
  JSON.

Imports are deferred to each command so that ``flowengine --help`` stays fast and never
imports boto3.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2

#: Loading problems that mean "could not read the file at all" (exit 2, not 1): missing,
#: unreadable or a directory, binary or not UTF-8, over the size limit.
UNREADABLE_CODES = frozenset({"FE101", "FE102", "FE103"})


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 on usage errors, as we document
        import re

        # argparse's "invalid choice: 'valdate' (choose from ...)" gets a did-you-mean
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if choice:
            import difflib

            close = difflib.get_close_matches(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)), n=1)
            if close:
                message += f" (did you mean '{close[0]}'?)"
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

    def unrecognized(self, extras: Sequence[str]) -> NoReturn:
        """Arguments this (sub)command does not take: its own usage, and a did-you-mean for
        a mistyped option (argparse would print the top-level usage)."""
        import difflib

        known = [s for a in self._actions for s in a.option_strings if a.help != argparse.SUPPRESS]
        guesses = []
        for arg in extras:
            if arg.startswith("--"):
                close = difflib.get_close_matches(arg.split("=", 1)[0], known, n=1, cutoff=0.6)
                if close:
                    guesses.append(f"{arg.split('=', 1)[0]}: did you mean {close[0]}?")
        hint = f" ({'; '.join(guesses)})" if guesses else f" (see {self.prog} --help)"
        self.error(f"unrecognized arguments: {' '.join(extras)}{hint}")


def _print_diagnostics(diags: Sequence[Any], fmt: str, stream: Any = None) -> None:
    stream = stream or sys.stdout
    if fmt == "json":
        json.dump([d.to_json() for d in diags], stream, indent=2)
        stream.write("\n")
        return
    for d in diags:
        stream.write(d.format() + "\n")


def _load(path: str) -> Any:
    from flowengine.dsl.app import load

    return load(path)


def cmd_validate(args: argparse.Namespace) -> int:
    from flowengine.errors import LoadError
    from flowengine.validate import validate_app

    ignored = _ignored_codes(args.ignore)
    if isinstance(ignored, str):
        print(f"flowengine validate: {ignored}", file=sys.stderr)
        return EXIT_USAGE
    all_diags: list[Any] = []
    unreadable = False
    for path in args.files:
        try:
            loaded = _load(path)
        except LoadError as exc:
            all_diags.extend(exc.diagnostics)
            unreadable = unreadable or any(d.code in UNREADABLE_CODES for d in exc.diagnostics)
            continue
        all_diags.extend(validate_app(loaded, check_handlers=args.check_handlers))
    # only warnings can be silenced: an error stays an error
    all_diags = [d for d in all_diags if not (d.severity == "warning" and d.code in ignored)]
    errors = [d for d in all_diags if d.severity == "error"]
    _print_diagnostics(all_diags, args.format)
    if args.format == "text":
        n_files = len(args.files)
        if errors:
            print(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in {n_files} file{'s' if n_files != 1 else ''}",
                  file=sys.stderr)
        else:
            print(f"{n_files} file{'s' if n_files != 1 else ''} valid", file=sys.stderr)
    if unreadable:
        return EXIT_USAGE
    return EXIT_PROBLEMS if errors else EXIT_OK


def _ignored_codes(values: Sequence[str]) -> frozenset[str] | str:
    """The codes of ``--ignore`` (repeated, or comma-separated), or what is wrong with them."""
    import re

    codes = [c.strip().upper() for v in values for c in v.split(",") if c.strip()]
    bad = [c for c in codes if not re.fullmatch(r"FE\d{3}", c)]
    if bad:
        return f"--ignore {bad[0]}: not a diagnostic code (write e.g. --ignore FE230; see docs/diagnostics.md)"
    return frozenset(codes)


def cmd_schema(args: argparse.Namespace) -> int:
    from flowengine.dsl.schema import app_schema

    json.dump(app_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from flowengine.errors import (AwsError, ExecutionInputError, FlowengineError, LoadError, MockConfigError,
                                   ValidationError)

    problem = _run_usage_problem(args)
    if problem is None and args.report is not None:
        from flowengine.report.commands import check_run_report_target

        problem = check_run_report_target(args.report)
    if problem:
        print(f"flowengine run: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        from flowengine.runtime.engine import read_input_option

        payload = read_input_option(args.input)
        loaded = _load(args.file)
        if args.flow is None and len(loaded.app.flows) > 1 and args.event is None:
            print(f"flowengine run: {args.file} has several flows ({', '.join(loaded.app.flows)}); "
                  "choose one with --flow", file=sys.stderr)
            return EXIT_USAGE
        type_problem = _type_problem(loaded, args)
        if type_problem:
            print(f"flowengine run: {type_problem}", file=sys.stderr)
            return EXIT_USAGE
        if args.remote or args.aws:
            return _run_on_aws(loaded, args, payload)
        return _run_local(loaded, args, payload)
    except (LoadError, MockConfigError, ValidationError) as exc:  # README: not runnable as given → 2
        _print_diagnostics(exc.diagnostics, "text", sys.stderr)
        return EXIT_USAGE
    except ExecutionInputError as exc:
        print(f"flowengine run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AwsError as exc:  # AWS refused or failed: a problem, not a usage error
        print(f"flowengine run: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except FlowengineError as exc:
        print(f"flowengine run: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _type_problem(loaded: Any, args: argparse.Namespace) -> str | None:
    """--type names the workflow type of a plain ASL run; an app file's flows declare theirs."""
    if args.type is None:
        return None
    if args.event is not None or args.remote or args.aws:
        return "--type sets the type of a local run of a plain ASL file; it does not combine with --event, --remote or --aws"
    if getattr(loaded.app, "plain_asl", False):
        return None
    flow = _flow_name(loaded, args.flow)
    declared = loaded.app.flows[flow].type if flow in loaded.app.flows else None
    if declared is not None and declared != args.type:
        return (f"flow '{flow}' is declared type: {declared.lower()} in {args.file}; change its type there "
                "(--type is for plain ASL files)")
    return None


def _run_usage_problem(args: argparse.Namespace) -> str | None:
    """Option combinations that cannot work, caught before anything loads."""
    if args.event is not None and args.input is not None:
        return "give the input with --input or the triggering event with --event, not both"
    for flag, value in (("--bus", args.bus), ("--trigger", args.trigger)):
        if value is not None and args.event is None:
            return f"{flag} goes with --event"
    event_objects = [v for v in getattr(args, "object", None) or [] if not v.startswith("s3://")]
    if event_objects and args.event is None:
        return (f"--object {event_objects[0]} goes with --event (the object an S3 event names); to put an object "
                f"in the emulated S3 for the flow, write --object s3://BUCKET/KEY={event_objects[0]}")
    if len(event_objects) > 1:
        return "an S3 event names one object: give one --object FILE (and s3://BUCKET/KEY=FILE for others)"
    if args.local_functions and not args.aws:
        return "--local-functions goes with --aws"
    if args.state_machine is not None and args.mock is None:
        return "--state-machine goes with --mock"
    if (args.mock is None) != (args.test_case is None):
        return "--mock FILE and --test-case NAME go together"
    if args.remote and args.aws:
        return "--remote runs on AWS and --aws runs locally against AWS: choose one"
    if (args.remote or args.aws) and not args.stack_name:
        return f"{'--remote' if args.remote else '--aws'} needs --stack-name (the deployed stack)"
    if (args.remote or args.aws) and getattr(args, "object", None):
        return "--object stages objects in the emulated S3 of a local run; it does not combine with --remote or --aws"
    if (args.remote or args.aws) and (args.mock or args.event is not None):
        return "--mock and --event are local-run options; they do not combine with --remote or --aws"
    if args.remote and (args.real_time or args.seed):
        return "--real-time and --seed shape local runs; a --remote run happens on AWS"
    return None


def _flow_name(loaded: Any, flow: str | None) -> str | None:
    if flow is not None:
        return flow
    flows = list(loaded.app.flows)
    return flows[0] if len(flows) == 1 else None


def _mock_set(loaded: Any, args: argparse.Namespace) -> Any:
    """The MockConfigFile test case named by --mock FILE --test-case NAME.

    The file's state machine is the one named like the flow, or its only one."""
    from flowengine.integrations.mockconfig import load_mock_config

    config = load_mock_config(args.mock)
    flow = _flow_name(loaded, args.flow)
    machines = config.state_machine_names()
    machine = args.state_machine or (flow if flow in machines else machines[0] if len(machines) == 1 else flow)
    return config.test_case(machine or "", args.test_case)


def _printer(args: argparse.Namespace) -> Any:
    """Live progress on stderr when it is a terminal (or --progress), never when piped."""
    want = args.progress if args.progress is not None else sys.stderr.isatty()
    if not want or args.json:
        return None
    from flowengine.testing.progress import ProgressPrinter

    return ProgressPrinter(sys.stderr, virtual=not args.real_time)


def _run_local(loaded: Any, args: argparse.Namespace, payload: Any) -> int:
    import time

    from flowengine.engine.clock import RealClock

    mocks = _mock_set(loaded, args) if args.mock else None
    printer = _printer(args)
    clock = RealClock() if args.real_time else None
    options: dict[str, Any] = {"clock": clock, "seed": args.seed, "record": True, "mocks": mocks,
                               "listeners": [printer] if printer else []}
    started = time.perf_counter()
    try:
        from flowengine.runtime.commands import parse_object_option, stage_s3_object

        given = args.object or []
        objects = tuple(parse_object_option(v) for v in given if v.startswith("s3://"))
        event_object = next((v for v in given if not v.startswith("s3://")), None)
        if args.event is not None:
            from flowengine.runtime.commands import run_event

            result = run_event(loaded, args.event, flow=args.flow, bus=args.bus, trigger=args.trigger,
                               object_file=event_object, objects=objects, **options)
        else:
            # Every local run is the app runtime's: the app's resources (if any) emulated
            # in-process, so a handler's boto3 never reaches the account of whoever runs this.
            from flowengine.runtime.app import AppRuntime

            with AppRuntime(loaded, **options) as runtime:
                for bucket, key, path in objects:
                    stage_s3_object(runtime, bucket, key, path)
                # JSON text, parsed once as StartExecution parses it (a value that is itself
                # a string would be read as JSON text again)
                express = None if args.type is None else args.type == "EXPRESS"
                result = runtime.run_flow(args.flow, json.dumps(payload), name=args.name, express=express)
    finally:
        if clock is not None:
            clock.close()
    return _report(result, args, time.perf_counter() - started)


def _run_on_aws(loaded: Any, args: argparse.Namespace, payload: Any) -> int:
    import time

    flow = _flow_name(loaded, args.flow)
    if flow is None:
        print("flowengine run: choose a flow with --flow", file=sys.stderr)
        return EXIT_USAGE
    started = time.perf_counter()
    if args.remote:
        from flowengine.aws import run_remote

        result = run_remote(loaded, flow, args.stack_name, payload, region=args.region, profile=args.profile,
                            endpoint_url=args.endpoint_url, name=args.name)
    else:
        from flowengine.engine.clock import RealClock
        from flowengine.runtime.hybrid import run_hybrid

        printer = _printer(args)
        clock = RealClock() if args.real_time else None
        try:
            result = run_hybrid(loaded, flow, args.stack_name, json.dumps(payload),
                                functions="local" if args.local_functions else "remote",
                                region=args.region, profile=args.profile, endpoint_url=args.endpoint_url,
                                clock=clock, seed=args.seed, name=args.name, record=True,
                                listeners=[printer] if printer else [])
        finally:
            if clock is not None:
                clock.close()
    return _report(result, args, time.perf_counter() - started)


def _report(result: Any, args: argparse.Namespace, wall: float) -> int:
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        from flowengine.testing.progress import ProgressPrinter

        # The summary goes to stdout, uncoloured unless stdout is a terminal.
        summary = ProgressPrinter(sys.stdout, virtual=not (args.real_time or args.remote)).summary(result, wall)
        print(summary)
        if result.status == "SUCCEEDED":
            print(json.dumps(result.output, indent=2))
    if args.report is not None:
        from flowengine.report.commands import write_run_report

        if not write_run_report(result, args.report, source=args.file, flow=args.flow, wall_seconds=wall):
            return EXIT_USAGE
    return EXIT_OK if result.status == "SUCCEEDED" else EXIT_PROBLEMS


def cmd_compile(args: argparse.Namespace) -> int:
    from flowengine.errors import FlowengineError, LoadError, ValidationError

    if args.check:
        missing = _missing_check_tools()
        if missing:
            print(f"flowengine compile: --check needs {' and '.join(missing)}, which are not installed: "
                  "pip install 'flowengine[check]'", file=sys.stderr)
            return EXIT_USAGE
    try:
        loaded = _load(args.file)
        from flowengine.compile import compile_app

        compiled = compile_app(loaded)
        written = compiled.write(args.out, force=args.force)
        _print_diagnostics(compiled.warnings, "text", sys.stderr)
    except LoadError as exc:
        _print_diagnostics(exc.diagnostics, "text", sys.stderr)
        return EXIT_USAGE
    except ValidationError as exc:
        _print_diagnostics(exc.diagnostics, "text", sys.stderr)
        return EXIT_PROBLEMS
    except FlowengineError as exc:
        print(f"flowengine compile: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except OSError as exc:  # --out is a file, or not writable
        what = "is a file, not a directory" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror
        print(f"flowengine compile: cannot write to {exc.filename or args.out}: {what} (choose another --out)",
              file=sys.stderr)
        return EXIT_USAGE
    for path in written:
        print(path)
    if args.check:
        return _check_compiled(compiled, written)
    return EXIT_OK


def _missing_check_tools() -> list[str]:
    """What ``compile --check`` needs and this environment lacks (the ``check`` extra)."""
    import importlib.util

    return [name for name, module in (("cfn-lint", "cfnlint"), ("aws-sam-translator", "samtranslator"))
            if importlib.util.find_spec(module) is None]


def _check_compiled(compiled: Any, written: Sequence[Any]) -> int:
    """``compile --check``: the SAM transform and cfn-lint on the template just written, each
    finding located at the resource it names in template.yaml."""
    import re

    from flowengine.compile import check_template
    from flowengine.errors import FlowengineError

    template = next((str(p) for p in written if str(p).endswith("template.yaml")), "template.yaml")
    try:
        problems = check_template(compiled.template)
    except FlowengineError as exc:
        print(f"flowengine compile --check: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    try:
        with open(template, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        lines = []
    # where each resource's logical id is written (two-space indent under Resources:)
    starts = {m.group(1): i + 1 for i, line in enumerate(lines) if (m := re.match(r"  ([A-Za-z0-9]+):\s*$", line))}
    for problem in problems:
        named = [lid for lid in re.findall(r"[A-Za-z0-9]+", problem) if lid in starts]
        line = starts[named[0]] if named else 1
        print(f"{template}:{line}:1: {problem}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {template}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"{template}: the SAM transform and cfn-lint found no problems", file=sys.stderr)
    return EXIT_OK


def cmd_deploy(args: argparse.Namespace) -> int:
    from flowengine.errors import FlowengineError, LoadError, ValidationError

    try:
        loaded = _load(args.file)
        from flowengine.aws import deploy

        result = deploy(loaded, args.stack_name, region=args.region, profile=args.profile,
                        endpoint_url=args.endpoint_url, dry_run=args.dry_run,
                        artifact_bucket=args.artifact_bucket, moto_compat=args.moto_compat,
                        progress=lambda line: print(line, file=sys.stderr))
    except LoadError as exc:
        _print_diagnostics(exc.diagnostics, "text", sys.stderr)
        return EXIT_USAGE
    except ValidationError as exc:
        _print_diagnostics(exc.diagnostics, "text", sys.stderr)
        return EXIT_PROBLEMS
    except FlowengineError as exc:
        print(f"flowengine deploy: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(result.summary() if hasattr(result, "summary") else result)
    return EXIT_OK


def _duration_arg(text: str) -> str:
    """An argparse type: a positive duration (30s, 5m, 1h30m, 2d) or number of seconds."""
    from flowengine.dsl.durations import parse_seconds

    try:
        value = parse_seconds(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration (write e.g. 30s, 5m, 1h30m, 2d)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}': the duration must be more than zero")
    return text


def cmd_up(args: argparse.Namespace) -> int:
    from flowengine.runtime.commands import up_command

    on_start = None
    if args.console:
        from flowengine.report.console import console_hook

        on_start = console_hook(args.file, keep_open=args.virtual)
    return up_command(args.file, real_time=not args.virtual, duration=args.duration, seed=args.seed,
                      on_start=on_start)


def cmd_send(args: argparse.Namespace) -> int:
    from flowengine.runtime.commands import send_command

    return send_command(args.file, args.event, advance=args.advance, bus=args.bus, trigger=args.trigger,
                        seed=args.seed, object_file=args.object, fresh=args.fresh)


def cmd_graph(args: argparse.Namespace) -> int:
    from flowengine.report.graph import graph_command

    return graph_command(args.file, args.flow, args.format, args.out, args.force, args.path, args.input)


def cmd_report(args: argparse.Namespace) -> int:
    from flowengine.report.commands import report_command

    return report_command(args.run, args.out, args.force, app=args.app, flow=args.flow)


def cmd_event_generate(args: argparse.Namespace) -> int:
    from flowengine.events import payloads

    options = {o.name: getattr(args, o.name) for o in payloads.generate_options(args.kind)}
    try:
        event = payloads.generate(args.kind, **options)
    except payloads.PayloadError as exc:
        print(f"flowengine event generate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(event, indent=2))
    return EXIT_OK


def cmd_mocks_scaffold(args: argparse.Namespace) -> int:
    from flowengine.integrations.mockconfig import scaffold_command

    return scaffold_command(args.file, args.flow, args.out, args.force)


def cmd_import(args: argparse.Namespace) -> int:
    import os

    from flowengine.dsl.sam_import import import_template
    from flowengine.dsl.substitutions import parse_assignments
    from flowengine.errors import LoadError

    out = args.out
    if os.path.isdir(out):
        print(f"flowengine import: --out {out} is a directory; name the app file to write "
              f"(e.g. --out {os.path.join(out, 'app.yaml')})", file=sys.stderr)
        return EXIT_USAGE
    if os.path.exists(out) and os.path.exists(args.file) and os.path.samefile(out, args.file):
        print("flowengine import: --out is the template itself; choose another file", file=sys.stderr)
        return EXIT_USAGE
    if os.path.exists(out) and not args.force:
        print(f"flowengine import: {out} exists and was not overwritten (add --force to replace it)", file=sys.stderr)
        return EXIT_USAGE
    try:
        parameters = parse_assignments(args.parameter_overrides, "--parameter-overrides")
        result = import_template(args.file, out, parameters=parameters)
    except ValueError as exc:
        print(f"flowengine import: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LoadError as exc:
        _print_diagnostics(exc.diagnostics, "text", sys.stderr)
        return EXIT_USAGE
    _print_diagnostics(result.diagnostics, "text", sys.stderr)
    if any(d.severity == "error" for d in result.diagnostics):
        print("flowengine import: nothing written (the references above do not resolve)", file=sys.stderr)
        return EXIT_PROBLEMS
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        with open(out, "w" if args.force else "x", encoding="utf-8") as fh:
            fh.write(result.text)
    except FileExistsError:
        print(f"flowengine import: {out} exists and was not overwritten (add --force to replace it)", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"flowengine import: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    print(out)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="flowengine",
        description="Run Step Functions-style app files locally on a virtual clock; compile them to ASL + AWS SAM.",
        epilog="Exit codes: 0 ok; 1 problems found or execution not SUCCEEDED; 2 usage error, unreadable file or bad input.",
    )
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    v = sub.add_parser("validate", help="report every problem in app files or ASL definitions")
    v.add_argument("files", nargs="+", metavar="FILE", help="app files (*.yaml) or ASL definitions (*.asl.json, ASL in YAML)")
    v.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: one FILE:LINE:COL: CODE message line per problem; json: a list of objects")
    v.add_argument("--check-handlers", action=argparse.BooleanOptionalAction, default=True,
                   help="check that each function's handler module exists under the app's code paths and defines "
                        "the function, without importing it (default: on; --no-check-handlers skips it)")
    v.add_argument("--ignore", action="append", metavar="CODE[,CODE]", default=[],
                   help="silence these warning codes, e.g. --ignore FE230 (errors are always reported)")
    _source_options(v)
    v.set_defaults(func=cmd_validate)

    s = sub.add_parser("schema", help="print the app file's JSON Schema (for editors)")
    s.set_defaults(func=cmd_schema)

    r = sub.add_parser("run", help="run a flow locally (virtual clock) and print its result")
    r.add_argument("file", metavar="FILE", help="an app file or a plain ASL definition")
    r.add_argument("--flow", help="the flow to run (required when the app has several)")
    r.add_argument("--input", help="execution input: JSON text, or @file.json")
    r.add_argument("--json", action="store_true", help="print {status, output, error, cause, history} as JSON")
    r.add_argument("--report", metavar="FILE",
                   help="also write an HTML report of the run: the graph by outcome, each state's input, output "
                        "and attempts, a timeline, the history (replaces an earlier report, no other file)")
    r.add_argument("--real-time", action="store_true", help="wait in real time instead of on the virtual clock")
    r.add_argument("--seed", type=int, default=0, help="seed of the random source (jitter, UUIDs)")
    r.add_argument("--name", help="execution name")
    r.add_argument("--type", type=str.upper, choices=("STANDARD", "EXPRESS"), metavar="STANDARD|EXPRESS",
                   help="run a plain ASL definition as this workflow type (default STANDARD); an EXPRESS run has "
                        "an Express execution ARN (…:express:MACHINE:NAME:ID) and Express limits. An app file "
                        "declares each flow's type instead")
    r.add_argument("--event", metavar="FILE",
                   help="start the flow through the app trigger this event matches (JSON file, JSON text, or -)")
    _event_delivery_options(r, "with --event: ", s3_objects=True)
    r.add_argument("--mock", metavar="FILE", help="a Step Functions Local MockConfigFile (JSON or YAML)")
    r.add_argument("--test-case", metavar="NAME", help="the MockConfigFile test case to run")
    r.add_argument("--state-machine", metavar="NAME",
                   help="the MockConfigFile state machine (default: the one named like the flow, or the only one)")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="live progress on stderr (default: when stderr is a terminal)")
    aws = r.add_argument_group("AWS", "run on AWS, or locally against AWS (credentials and region as for the AWS CLI)")
    aws.add_argument("--remote", action="store_true", help="run the deployed flow on AWS Step Functions")
    aws.add_argument("--aws", action="store_true",
                     help="run the flow locally while its Tasks call the deployed stack's functions and resources")
    aws.add_argument("--local-functions", action="store_true",
                     help="with --aws: run Lambda tasks with the local handlers instead of the deployed functions")
    aws.add_argument("--stack-name", help="the CloudFormation stack `flowengine deploy` created")
    aws.add_argument("--region", help="the AWS region (default: as the AWS CLI finds it)")
    aws.add_argument("--profile", help="the AWS CLI profile for credentials and region")
    aws.add_argument("--endpoint-url", help="an AWS-compatible endpoint (e.g. a moto server)")
    _source_options(r)
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compile", help="write ASL + an AWS SAM template")
    c.add_argument("file", metavar="FILE", help="the app file (or plain ASL definition) to compile")
    c.add_argument("--out", required=True, metavar="DIR",
                   help="where to write template.yaml and statemachines/*.asl.json")
    c.add_argument("--force", action="store_true", help="overwrite files flowengine did not write")
    c.add_argument("--check", action="store_true",
                   help="then run the SAM transform and cfn-lint on the written template, offline "
                        "(needs pip install 'flowengine[check]'); findings exit 1")
    _source_options(c, substitutions=False)
    c.set_defaults(func=cmd_compile)

    d = sub.add_parser("deploy", help="compile and deploy to AWS with CloudFormation change sets")
    d.add_argument("file", metavar="FILE", help="the app file to deploy")
    d.add_argument("--stack-name", required=True, type=_stack_name_arg,
                   help="the CloudFormation stack to create or update (letters, digits, hyphens)")
    d.add_argument("--region", help="the AWS region (default: as the AWS CLI finds it)")
    d.add_argument("--profile", help="the AWS CLI profile for credentials and region")
    d.add_argument("--endpoint-url", help="an AWS-compatible endpoint (e.g. a moto server)")
    d.add_argument("--artifact-bucket", metavar="BUCKET",
                   help="where to upload the function code (default: a bucket flowengine creates per account and region)")
    d.add_argument("--dry-run", action="store_true", help="print the change set without executing it")
    # testing only (a moto server stands in for AWS): the rewrites of flowengine.aws.moto_compat
    d.add_argument("--moto-compat", action="store_true", help=argparse.SUPPRESS)
    d.set_defaults(func=cmd_deploy)

    from flowengine.events import payloads  # standard library only: cheap at start-up

    u = sub.add_parser("up", help="run the whole app locally: emulated resources, triggers, schedules, a live log")
    u.add_argument("file", metavar="APP", help="the app file")
    u.add_argument("--virtual", action="store_true",
                   help="run on the virtual clock instead of the real one (a day of schedules in moments)")
    u.add_argument("--duration", type=_duration_arg, help="how long to run, e.g. 10m or 1d (default: until Ctrl-C; one day with --virtual)")
    u.add_argument("--seed", type=int, default=None, help="seed of the random source")
    u.add_argument("--console", action="store_true",
                   help="serve a live console on 127.0.0.1 (executions, their reports, the event log); "
                        "its URL, with its token, is printed")
    _source_options(u, substitutions=False)
    u.set_defaults(func=cmd_up)

    sn = sub.add_parser("send", help="send one event into the running `flowengine up` of the app, or a fresh runtime")
    sn.add_argument("file", metavar="APP", help="the app file")
    sn.add_argument("event", metavar="EVENT", help="a JSON file, JSON text, or - for stdin (see `flowengine event generate`)")
    sn.add_argument("--advance", type=_duration_arg, help="virtual time to run on after the app goes idle, e.g. 1h (implies --fresh)")
    sn.add_argument("--fresh", action="store_true",
                    help="use a fresh runtime even when `flowengine up` is running this app")
    _event_delivery_options(sn)
    sn.add_argument("--seed", type=int, default=0, help="seed of the random source")
    _source_options(sn, substitutions=False)
    sn.set_defaults(func=cmd_send)

    gr = sub.add_parser("graph", help="draw a flow (Mermaid or DOT), optionally with a run's path overlaid")
    gr.add_argument("file", metavar="APP", help="the app file or ASL definition")
    gr.add_argument("--flow", help="the flow (required when the app has several)")
    gr.add_argument("--format", choices=("mermaid", "dot", "svg"), default=None,
                    help="default: dot for an --out ending in .dot or .gv, svg for .svg, else mermaid")
    gr.add_argument("--out", metavar="FILE", help="file to write (a .md file gets a mermaid code fence); stdout when absent")
    gr.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    gr.add_argument("--path", metavar="RUN.json", help="overlay the path of a run saved with `flowengine run --json`")
    gr.add_argument("--input", metavar="JSON", help="run the flow locally with this input (JSON or @file) and overlay its path")
    _source_options(gr)
    gr.set_defaults(func=cmd_graph)

    rp = sub.add_parser("report", help="write the HTML report of a run saved with `flowengine run --json`")
    rp.add_argument("run", metavar="RUN.json", help="what `flowengine run --json` printed, or a GetExecutionHistory response")
    rp.add_argument("--app", metavar="APP", help="the app file, to draw every state of the flow (else: the states the run entered)")
    rp.add_argument("--flow", help="the flow (with --app, when the app has several)")
    rp.add_argument("--out", metavar="FILE", help="the HTML file to write (default: RUN.html)")
    rp.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    rp.set_defaults(func=cmd_report)

    e = sub.add_parser("event", help="event payloads in AWS's shapes")
    esub = e.add_subparsers(dest="event_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True)
    g = esub.add_parser("generate", help="print an event payload, as `sam local generate-event` does")
    kinds = g.add_subparsers(dest="kind", metavar="KIND", parser_class=_Parser, required=True)
    for kind in payloads.KINDS:
        k = kinds.add_parser(kind, help=payloads.describe(kind))
        for opt in payloads.generate_options(kind):
            k.add_argument(opt.flag, **_event_option_kwargs(opt))
        k.set_defaults(func=cmd_event_generate)

    m = sub.add_parser("mocks", help="Step Functions Local mock configurations")
    msub = m.add_subparsers(dest="mocks_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True)
    ms = msub.add_parser("scaffold", help="write a MockConfigFile skeleton with an entry for every Task")
    ms.add_argument("file", metavar="APP", help="the app file or ASL definition")
    ms.add_argument("--flow", help="the flow (required when the app has several)")
    ms.add_argument("--out", help="file to write (JSON, or YAML by its extension); stdout when absent")
    ms.add_argument("--force", action="store_true", help="overwrite an existing file")
    _source_options(ms)
    ms.set_defaults(func=cmd_mocks_scaffold)

    im = sub.add_parser("import", help="turn a SAM or CloudFormation template into an app file")
    im.add_argument("file", metavar="TEMPLATE", help="the template (template.yaml, YAML or JSON)")
    im.add_argument("--out", required=True, metavar="APP.yaml",
                    help="the app file to write (paths in it are relative to it); never overwritten without --force")
    im.add_argument("--force", action="store_true", help="replace --out if it exists")
    im.add_argument("--parameter-overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="values of the template's Parameters, as `sam deploy` takes them; an app file has no "
                         "parameters, so the values (defaults otherwise) are written in where they are used")
    im.set_defaults(func=cmd_import)
    _finish_parsers(p)
    return p


#: One example per command, shown at the end of its --help.
_EXAMPLES = {
    "validate": "flowengine validate definitions/*.yaml --ignore FE230",
    "schema": "flowengine schema > app.schema.json",
    "run": "flowengine run definitions/orders.yaml --input @examples/orders/order.json",
    "compile": "flowengine compile definitions/orders.yaml --out build/ --check",
    "deploy": "flowengine deploy definitions/orders.yaml --stack-name orders --region eu-west-1 --dry-run",
    "up": "flowengine up definitions/nightly-cleanup.yaml --virtual --duration 7d",
    "send": "flowengine send definitions/upload-pipeline.yaml upload.json --object examples/upload_pipeline/report.json",
    "graph": "flowengine graph definitions/orders.yaml --out orders.md",
    "report": "flowengine run definitions/orders.yaml --json > run.json && flowengine report run.json --app definitions/orders.yaml",
    "event": "flowengine event generate s3-put --bucket Uploads --key incoming/report.json > upload.json",
    "event generate": "flowengine event generate eventbridge --source shop --detail @detail.json",
    "event generate s3-put": "flowengine event generate s3-put --bucket Uploads --key incoming/report.json > upload.json",
    "event generate s3-delete": "flowengine event generate s3-delete --bucket Uploads --key incoming/report.json",
    "event generate s3-eventbridge": "flowengine event generate s3-eventbridge --bucket Uploads --key incoming/a.json",
    "event generate sqs": "flowengine event generate sqs --body first --body '{\"order\": 42}'",
    "event generate sns": "flowengine event generate sns --message hello --message-attributes '{\"level\": \"error\"}'",
    "event generate eventbridge": ("flowengine event generate eventbridge --source shop.web --detail-type OrderPlaced "
                                   "--detail @order.json"),
    "event generate schedule": ("flowengine event generate schedule "
                                "--rule-arn arn:aws:events:us-east-1:123456789012:rule/nightly"),
    "event generate apigateway": "flowengine event generate apigateway --method POST --path /orders --body '{\"qty\": 2}'",
    "event generate apigateway-http": "flowengine event generate apigateway-http --method GET --path /orders/42",
    "mocks": "flowengine mocks scaffold definitions/orders.yaml --out mocks.json",
    "mocks scaffold": "flowengine mocks scaffold definitions/orders.yaml --out mocks.json",
    "import": "flowengine import template.yaml --out app.yaml",
}


def _finish_parsers(parser: argparse.ArgumentParser, path: str = "") -> None:
    """Each subcommand's parser: its example as an epilog, and itself in the namespace
    (``_parser``) so that arguments it does not take are reported with its usage."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for name, child in action.choices.items():
            key = f"{path} {name}".strip()
            example = _EXAMPLES.get(key) or (f"flowengine {path} {name}" if path.startswith("event") else None)
            if example and not child.epilog:
                child.epilog = f"example:\n  {example}"
                child.formatter_class = argparse.RawDescriptionHelpFormatter
            child.set_defaults(_parser=child)
            _finish_parsers(child, key)


def _event_option_kwargs(option: Any) -> dict[str, Any]:
    """An event kind's option for argparse: its message on a bad value, and ``@file`` for
    JSON options, as --input takes it."""
    kwargs = option.argparse_kwargs()
    parse = kwargs["type"]

    def typed(text: str) -> Any:
        if option.type == "json" and text.startswith("@"):
            from flowengine.dsl import files  # a regular file only, the bytes read capped

            try:
                text = files.read_text(text[1:])
            except files.FileProblem as exc:
                raise argparse.ArgumentTypeError(f"{text[1:]}: no such file" if "not found" in exc.problem else
                                                 f"{text[1:]}: cannot read it: {exc.problem}") from None
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    typed.__name__ = option.type  # argparse names the type in some messages
    kwargs["type"] = typed
    if option.type == "json":
        kwargs["help"] = kwargs["help"].replace(option.help, f"{option.help}, or @file.json", 1)
    return kwargs


def _stack_name_arg(text: str) -> str:
    """An argparse type: a CloudFormation stack name (a usage error otherwise, exit 2)."""
    import re

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", text):
        raise argparse.ArgumentTypeError(f"'{text}' is not a stack name: letters, digits and hyphens, "
                                         "starting with a letter, at most 128 characters")
    return text


def _event_delivery_options(parser: argparse.ArgumentParser, prefix: str = "", *, s3_objects: bool = False) -> None:
    """--bus, --trigger and --object: where an event goes, and the object an S3 event names
    (with ``s3_objects``, also any object of the emulated S3, repeatable: ``run``)."""
    parser.add_argument("--bus", help=f"{prefix}the event bus an EventBridge event goes to (default: the default bus)")
    parser.add_argument("--trigger", help=f"{prefix}deliver the event to this trigger, as it is")
    if s3_objects:
        parser.add_argument("--object", action="append", metavar="s3://BUCKET/KEY=FILE",
                            help="store FILE in the emulated S3 at s3://BUCKET/KEY before the run (repeat for each "
                                 "object), e.g. what an ItemReader reads; a bucket the app does not declare is "
                                 "created. With --event, a bare --object FILE is the object the S3 event names")
    else:
        parser.add_argument("--object", metavar="FILE",
                            help=f"{prefix}with an S3 event, store FILE as the object it names, so handlers can read it")


def _source_options(parser: argparse.ArgumentParser, *, substitutions: bool = True) -> None:
    """--parameter-overrides (templates) and --substitute/--substitutions (plain ASL)."""
    parser.add_argument("--parameter-overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="for a SAM/CloudFormation template: values of its Parameters, as `sam deploy` takes "
                             "them (repeat, or several in one quoted argument); a name that is no parameter gives "
                             "the value of that Fn::ImportValue export")
    if substitutions:
        parser.add_argument("--substitute", action="append", default=[], metavar="NAME=VALUE",
                            help="for a plain ASL file: fill its ${NAME} placeholders as DefinitionSubstitutions "
                                 "would (repeat for each; a number stays a number where the file expects one)")
        parser.add_argument("--substitutions", metavar="FILE.json",
                            help="for a plain ASL file: a JSON mapping of placeholder names to values "
                                 "(--substitute wins over it)")


def _load_options(args: argparse.Namespace) -> Any:
    """The context in which the command's files load (dsl.app.load_options), or the usage
    problem of the options as a string."""
    import contextlib

    overrides, substitute, file = (getattr(args, "parameter_overrides", None) or [],
                                   getattr(args, "substitute", None) or [], getattr(args, "substitutions", None))
    if not (overrides or substitute or file):
        return contextlib.nullcontext()
    from flowengine.dsl.app import load_options
    from flowengine.dsl.substitutions import parse_assignments, read_substitutions_file
    from flowengine.errors import LoadError

    try:
        parameters = parse_assignments(overrides, "--parameter-overrides")
        values: dict[str, Any] = {}
        if file:
            values.update(read_substitutions_file(file))
        values.update(parse_assignments(substitute, "--substitute"))
    except ValueError as exc:
        return str(exc)
    except LoadError as exc:
        return "--substitutions " + "; ".join(d.format() for d in exc.diagnostics)
    return load_options(parameters=parameters, substitutions=values)


def _version() -> str:
    from flowengine import __version__

    return f"flowengine {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """The command.  ``argv`` None means this is the ``flowengine`` process itself (the console
    script): then its exit is bounded even if a handler leaked threads (:func:`_bounded_exit`)."""
    code = _main(argv)
    if argv is None:
        _bounded_exit(code)
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:  # reported by the (sub)command that was given them, with its own usage
        leaf = getattr(args, "_parser", parser)
        if isinstance(leaf, _Parser):
            leaf.unrecognized(extras)
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        options = _load_options(args)
        if isinstance(options, str):
            print(f"flowengine {args.command}: {options}", file=sys.stderr)
            return EXIT_USAGE
        with options:
            return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


#: How long the process waits at exit for threads that are still running (seconds).
EXIT_GRACE_SECONDS = 2.0


def _bounded_exit(code: int) -> None:
    """Exit within a few seconds of the result even if a handler left non-daemon threads.

    Python joins every non-daemon thread before it exits, so a thread a handler started and
    never ended would keep ``flowengine run`` alive forever after it printed its result (on
    Lambda the sandbox is simply gone).  So: give such threads a short grace; if any still
    runs, flush what was printed and end the process with ``os._exit`` and the command's own
    exit code.  With no lingering thread, the interpreter exits as usual.
    """
    import os
    import threading
    import time

    lingering = [t for t in threading.enumerate()
                 if t is not threading.current_thread() and not t.daemon and t.is_alive()]
    if not lingering:
        return
    deadline = time.monotonic() + EXIT_GRACE_SECONDS
    for thread in lingering:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in lingering):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # closed or broken: nothing more to say
                pass
        os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
