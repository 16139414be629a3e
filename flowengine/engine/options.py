"""Options of the local engine: AWS's limits, the account it pretends to run in, its ids.

Both are documented dataclasses so a test can state exactly what it changes::

    Engine(limits=EngineLimits(max_payload_bytes=1024), account=AccountInfo(region="eu-west-1"))
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass

from flowengine.errors import ExecutionInputError


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from the engine's seeded random source (never ``uuid4``)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True, slots=True)
class EngineLimits:
    """AWS Step Functions' quotas, each configurable locally.

    * ``max_payload_bytes``: the largest input, output or task result, measured as the
      UTF-8 size of its JSON text (256 KiB on AWS) → ``States.DataLimitExceeded``.
    * ``max_history_events``: the most events one execution may record (25,000 on AWS);
      reaching it fails the execution.
    * ``max_wait_seconds``: the longest a Wait may last; Step Functions keeps waits in a
      signed 32-bit count of seconds, so a Timestamp further ahead than 2**31 - 1 seconds
      fails with ``States.Runtime``.
    * ``max_execution_seconds``: the longest a STANDARD execution may run (one year on AWS);
      past it the execution ends TIMED_OUT with ``States.Timeout``, as a state machine's own
      ``TimeoutSeconds`` ends it.
    * ``max_express_execution_seconds``: the same for an EXPRESS execution (5 minutes on AWS).
    """

    max_payload_bytes: int = 256 * 1024
    max_history_events: int = 25_000
    max_wait_seconds: int = 2**31 - 1
    max_execution_seconds: float = 365 * 24 * 3600
    max_express_execution_seconds: float = 5 * 60


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """Where executions pretend to run: account id, region, partition and execution role."""

    account: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
    role_arn: str | None = None  # default: arn:aws:iam::<account>:role/StepFunctions-<machine>-role

    def role_for(self, machine_name: str) -> str:
        return self.role_arn or f"arn:{self.partition}:iam::{self.account}:role/StepFunctions-{machine_name}-role"

    def state_machine_arn(self, machine_name: str) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:{machine_name}"

    def execution_arn(self, machine_name: str, execution_name: str, express: bool = False,
                      express_id: str = "") -> str:
        if express:
            return (f"arn:{self.partition}:states:{self.region}:{self.account}:express:"
                    f"{machine_name}:{execution_name}:{express_id}")
        return f"arn:{self.partition}:states:{self.region}:{self.account}:execution:{machine_name}:{execution_name}"

    def map_run_arn(self, machine_name: str, label: str, run_id: str) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}:mapRun:{machine_name}/{label}:{run_id}"

    def lambda_arn(self, function_name: str) -> str:
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{function_name}"


#: What StartExecution refuses in a name (besides control characters and a length over 80).
_BAD_NAME_CHARS = re.compile(r'[\s<>{}\[\]?*"#%\\^|~`$&,;:/]')


def check_execution_name(name: str) -> None:
    """Refuse a name StartExecution would refuse (AWS's InvalidName), with the reason."""
    problem = None
    if not isinstance(name, str) or not 1 <= len(name) <= 80:
        problem = "it must be 1 to 80 characters"
    elif _BAD_NAME_CHARS.search(name) or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name):
        bad = (_BAD_NAME_CHARS.search(name) or re.search(r"[\x00-\x1f\x7f-\x9f]", name))
        shown = repr(bad.group()) if bad else "a control character"
        problem = f"it contains {shown}; AWS refuses whitespace, brackets, wildcards and \"#%\\^|~`$&,;:/"
    if problem:
        raise ExecutionInputError(f"invalid execution name {name!r}: {problem}")
