"""One AWS session for a command: credentials and region checked up front, throttling retried,
botocore's exceptions turned into one-line :class:`~flowengine.errors.AwsError` messages.

boto3 is imported here, when a session is made, never when flowengine is imported.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from flowengine.errors import AwsError

#: Error codes AWS uses for "slow down"; these calls are retried with exponential backoff.
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown",
    "ProvisionedThroughputExceededException", "PriorRequestNotComplete", "LimitExceededException",
})


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(((response or {}).get("Error") or {}).get("Code", "")) if isinstance(response, dict) else ""


class Aws:
    """Clients for one region/profile/endpoint, with retries and readable errors.

    ``sleep`` is what waits between retries and polls (tests pass a no-op).
    """

    def __init__(self, *, region: str | None = None, profile: str | None = None, endpoint_url: str | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_attempts: int = 8) -> None:
        import boto3
        import botocore.config
        import botocore.exceptions

        self.endpoint_url = endpoint_url
        self.sleep = sleep
        self.max_attempts = max_attempts
        try:
            # AWS_REGION is what the AWS CLI v2 and the other SDKs read; botocore reads only
            # AWS_DEFAULT_REGION, so honour both (an explicit region wins).
            self.session = boto3.session.Session(profile_name=profile,
                                                 region_name=region or os.environ.get("AWS_REGION") or None)
        except botocore.exceptions.ProfileNotFound:
            raise AwsError(f"the AWS profile '{profile}' is not configured (see ~/.aws/config)") from None
        if not self.session.region_name:
            raise AwsError("no AWS region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION "
                           "(or a region in your AWS profile)")
        try:
            credentials = self.session.get_credentials()
        except botocore.exceptions.BotoCoreError as exc:
            raise AwsError(f"AWS credentials could not be loaded: {exc}") from None
        if credentials is None:
            raise AwsError("no AWS credentials: configure a profile (aws configure), pass --profile, "
                           "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        self.region: str = self.session.region_name
        # botocore retries a little on its own; throttling gets tenacity's longer backoff on top
        self._config = botocore.config.Config(retries={"mode": "standard", "max_attempts": 3},
                                              user_agent_extra="flowengine")
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url, config=self._config)
        return self._clients[service]

    def call(self, service: str, operation: str, **params: Any) -> Any:
        """``client(service).<operation>(**params)``, throttling retried, errors as AwsError."""
        return self.guard(getattr(self.client(service), operation), f"{service}.{operation}", **params)

    def guard(self, fn: Callable[..., Any], what: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` with retries on throttling; botocore errors become AwsError."""
        import botocore.exceptions
        import botocore.parsers
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

        retrying = Retrying(
            retry=retry_if_exception(lambda e: error_code(e) in THROTTLING_CODES),
            wait=wait_exponential_jitter(initial=1, max=20),
            stop=stop_after_attempt(self.max_attempts),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(fn, *args, **kwargs)  # reraise=True: the last error, not a RetryError
        except botocore.exceptions.NoCredentialsError:
            raise AwsError("no AWS credentials: configure a profile (aws configure), pass --profile, "
                           "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from None
        except botocore.exceptions.EndpointConnectionError as exc:
            raise AwsError(f"cannot reach AWS at {exc.kwargs.get('endpoint_url', 'its endpoint')}") from None
        except botocore.exceptions.ClientError as exc:
            message = ((exc.response or {}).get("Error") or {}).get("Message") or str(exc)
            raise AwsError(f"{what}: {error_code(exc)}: {message}") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise AwsError(f"{what}: {exc}") from None
        except botocore.parsers.ResponseParserError as exc:
            raise AwsError(f"{what}: the service's response is not AWS's: {str(exc)[:300]}") from None

    def paginate(self, service: str, operation: str, key: str, **params: Any) -> list[Any]:
        """Every item under ``key`` across the pages of ``operation``."""
        paginator = self.client(service).get_paginator(operation)

        def collect() -> list[Any]:
            return [item for page in paginator.paginate(**params) for item in page.get(key, [])]

        return self.guard(collect, f"{service}.{operation}")  # type: ignore[no-any-return]
