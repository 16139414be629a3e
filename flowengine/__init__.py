"""flowengine: AWS Step Functions-style workflows for Python teams.

Write an app file (functions, resources, flows, triggers), run it locally on a virtual
clock with AWS's semantics, and compile it to ASL plus an AWS SAM template.
"""

from __future__ import annotations

__version__ = "0.1.0"
