"""Compile an app for AWS: ASL JSON plus an AWS SAM template, and check the template offline.

    compiled = compile_app(flowengine.dsl.app.load("app.yaml"))
    compiled.write("build/")                 # build/template.yaml, build/statemachines/*.asl.json
    problems = check_template(compiled.template)   # SAM transform + cfn-lint, no credentials

See docs/compile.md for what is emitted and the permissions derived.
"""

from __future__ import annotations

from flowengine.compile.check import check_template
from flowengine.compile.sam import CompiledApp, compile_app

__all__ = ["CompiledApp", "check_template", "compile_app"]
