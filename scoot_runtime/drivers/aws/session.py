"""The AWS clients of one run, and how the driver calls them without blocking the loop.

boto3 is synchronous: every call runs in a worker thread (`asyncio.to_thread`), so
the runtime's concurrency holds. Clients are made once per service and shared
(boto3 clients are thread-safe; sessions are not, so clients are made under a
lock). Throttling and transient errors are retried by botocore itself, in its
`adaptive` mode (exponential backoff with jitter, and a client-side rate limit
that slows down when AWS says so).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from scoot_runtime.drivers.aws.errors import AwsCallError, AwsDriverError, is_not_found
from scoot_runtime.drivers.aws.options import AwsOptions

# What AWS answers when calls come too fast (botocore retries these itself).
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "503",
    }
)


class Aws:
    """The clients of one target: one region, one endpoint, the usual credentials."""

    def __init__(self, options: AwsOptions, pool_size: int) -> None:
        try:
            self._session = boto3.session.Session(
                profile_name=options.profile, region_name=options.region
            )
        except botocore.exceptions.ProfileNotFound:
            raise AwsDriverError(
                f"the AWS profile `{options.profile}` is not in your AWS configuration "
                "(~/.aws/config); fix the target's `profile` option"
            ) from None
        region = self._session.region_name
        if not region:
            raise AwsDriverError(
                "no AWS region: set `region` in the target's table of scoot.toml, "
                "or AWS_REGION in the environment"
            )
        self.region: str = str(region)
        self.options = options
        self._config = botocore.config.Config(
            region_name=self.region,
            retries={"mode": "adaptive", "total_max_attempts": options.max_attempts},
            max_pool_connections=pool_size,
            connect_timeout=10,
            read_timeout=60,
            user_agent_extra="scoot",
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.options.endpoint_url, config=self._config
                )
            return self._clients[service]

    async def call(self, service: str, operation: str, **arguments: Any) -> dict[str, Any]:
        """`client(service).<operation>(**arguments)` in a worker thread; AWS errors explained."""
        method = getattr(self.client(service), operation)
        try:
            result: dict[str, Any] = await asyncio.to_thread(method, **arguments)
        except botocore.exceptions.ClientError as error:
            info = error.response.get("Error", {})
            code = str(info.get("Code", "")) or str(
                error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
            )
            message = str(info.get("Message", "")) or code
            if code in _THROTTLED:
                message += (
                    f" (still refused after {self.options.max_attempts} attempts with backoff: try again "
                    "later, lower --parallelism, or raise the target's `max_attempts`)"
                )
            raise AwsCallError(f"AWS refused {service} {operation}: {code}: {message}", code) from None
        except botocore.exceptions.NoCredentialsError:
            raise AwsDriverError(
                "no AWS credentials: set AWS_PROFILE (or the target's `profile` option), "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance role applies"
            ) from None
        except botocore.exceptions.EndpointConnectionError as error:
            raise AwsDriverError(
                f"cannot reach AWS at {error.kwargs.get('endpoint_url', 'its endpoint')}: "
                "check the network, `region` and `endpoint_url`"
            ) from None
        return result

    async def pages(
        self, service: str, operation: str, token_in: str, token_out: str, **arguments: Any
    ) -> list[dict[str, Any]]:
        """Every page of a listing, in order: `token_out` of one page is `token_in` of the next."""
        pages: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = await self.call(service, operation, **arguments, **({token_in: token} if token else {}))
            pages.append(page)
            token = page.get(token_out) or None
            if not token:
                return pages

    async def maybe(self, service: str, operation: str, **arguments: Any) -> dict[str, Any] | None:
        """Like `call`, but None when AWS says the thing asked about does not exist."""
        try:
            return await self.call(service, operation, **arguments)
        except AwsCallError as error:
            if is_not_found(error):
                return None
            raise

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
