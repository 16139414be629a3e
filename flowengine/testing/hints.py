"""What a user can do about a failed local run, said where they are: the run summary's ``hint:``.

A failure's ``error``/``cause`` stay AWS's own words (fidelity); this module adds one line
naming a CLI option or a mock that deals with the common reasons a *local* run of a real
definition fails (issue 12, item 6): a Lambda function or S3 object that exists only in the
account the definition was written for, a ``${...}`` placeholder left unfilled, a ``$$`` path
that the context object lacks.
"""

from __future__ import annotations

import re

from flowengine.lang.jsonpath import context_path_hint

__all__ = ["failure_hint"]

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")
_MOCK_IT = ("mock it: `flowengine mocks scaffold FILE --out mocks.json`, then run with "
            "`--mock mocks.json --test-case HappyPath`")


def failure_hint(error: str | None, cause: str | None) -> str | None:
    """One line for the run summary after a failure, or None when there is nothing to add."""
    text = cause or ""
    hint = context_path_hint(text)
    if hint:
        return hint
    placeholder = _PLACEHOLDER.search(text)
    if placeholder and error not in (None, "States.Runtime"):
        name = placeholder.group(1)
        hint = (f"'${{{name}}}' is an unfilled DefinitionSubstitutions placeholder: fill it with "
                f"--substitute {name}=VALUE (or --substitutions FILE.json)")
        return hint + (f", or {_MOCK_IT}" if error.startswith("Lambda.") else "")
    if error == "Lambda.ResourceNotFoundException" or text.startswith("No local integration runs the resource"):
        return f"no local function answers this Task; {_MOCK_IT}"
    if error == "States.ResultWriterFailed" and "NoSuchBucket" in text:
        return "the ResultWriter's bucket is not in the emulated S3: create it with --object s3://BUCKET/"
    if error in ("States.ItemReaderFailed", "States.ResultWriterFailed") and (
            "NoSuchBucket" in text or "NoSuchKey" in text or "No local integration" in text):
        return ("the object is not in the emulated S3: stage it with "
                "--object s3://BUCKET/KEY=LOCAL_FILE (repeat for each object)")
    return None
