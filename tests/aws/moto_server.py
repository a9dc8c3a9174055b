"""moto's server on 127.0.0.1, the AWS settings to reach it, what to list on it, and a proxy
(which also counts the calls it forwards, by service and operation).

A real HTTP server in a separate process (`python -m moto.server`): the driver talks
to it through boto3 exactly as to AWS, with `endpoint_url` pointing at it and dummy
credentials in the environment. Nothing here patches boto3.
"""

from __future__ import annotations

import collections
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

REGION = "eu-west-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    # Nothing of the user's own AWS configuration is read.
    "AWS_CONFIG_FILE": "/nonexistent/scoot-tests/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/scoot-tests/aws-credentials",
}
# An image id that exists nowhere: RunInstances refuses it, on AWS as on the server
# below, which checks images as AWS does (the latest Amazon Linux, the driver's
# default, is one moto knows).
MISSING_AMI = "ami-0000000000000dead"


@dataclass(frozen=True)
class Moto:
    endpoint_url: str

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m moto.server` on a free port of 127.0.0.1, once it answers; (process, URL)."""
    port = _free_port()
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MOTO_ENABLE_AMI_VALIDATION": "true"},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                return server, url
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"moto's server did not start: {log.read_text()}") from None
            time.sleep(0.2)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def leftovers(moto: Moto, lineage: str) -> list[str]:
    """Every resource tagged with `lineage` that still exists, as `kind name` lines."""
    found: list[str] = []
    ec2, s3, dynamodb, iam, ssm = (moto.client(s) for s in ("ec2", "s3", "dynamodb", "iam", "ssm"))
    lineage_filter = [{"Name": "tag:scoot:lineage", "Values": [lineage]}]
    for reservation in ec2.describe_instances(Filters=lineage_filter)["Reservations"]:
        for instance in reservation["Instances"]:
            if instance["State"]["Name"] != "terminated":
                found.append(f"instance {instance['InstanceId']} ({instance['State']['Name']})")
    for group in ec2.describe_security_groups(Filters=lineage_filter)["SecurityGroups"]:
        found.append(f"security group {group['GroupId']}")
    for bucket in s3.list_buckets()["Buckets"]:
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]
        except s3.exceptions.ClientError:
            continue
        if {"Key": "scoot:lineage", "Value": lineage} in tags:
            found.append(f"bucket {bucket['Name']}")
    for name in (n for page in dynamodb.get_paginator("list_tables").paginate() for n in page["TableNames"]):
        arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
        if {"Key": "scoot:lineage", "Value": lineage} in dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"]:
            found.append(f"table {name}")
    for role in (r for page in iam.get_paginator("list_roles").paginate() for r in page["Roles"]):
        tags = iam.list_role_tags(RoleName=role["RoleName"])["Tags"]
        if {"Key": "scoot:lineage", "Value": lineage} in tags:
            found.append(f"role {role['RoleName']}")
    profiles = iam.get_paginator("list_instance_profiles").paginate()
    for profile in (p for page in profiles for p in page["InstanceProfiles"]):
        if {"Key": "scoot:lineage", "Value": lineage} in profile.get("Tags", []):
            found.append(f"instance profile {profile['InstanceProfileName']}")
    elbv2 = moto.client("elbv2")
    balancers = [(b["LoadBalancerArn"], "load balancer") for b in elbv2.describe_load_balancers()["LoadBalancers"]]
    groups = [(g["TargetGroupArn"], "target group") for g in elbv2.describe_target_groups()["TargetGroups"]]
    for arn, what in balancers + groups:
        tags = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
        if {"Key": "scoot:lineage", "Value": lineage} in tags:
            found.append(f"{what} {arn}")
    ours = [{"Key": "Name", "Option": "BeginsWith", "Values": ["/scoot/"]}]
    for page in ssm.get_paginator("describe_parameters").paginate(ParameterFilters=ours):
        for parameter in page["Parameters"]:
            tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=parameter["Name"])["TagList"]
            if {"Key": "scoot:lineage", "Value": lineage} in tags:
                found.append(f"parameter {parameter['Name']}")
    return found


_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


def operation(method: str, path: str, headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """(service, operation) of a request to AWS, as the server sees it: the service from the
    signature's scope, the operation from `X-Amz-Target` (JSON APIs), `Action=` (query
    APIs), or for S3 the method and what the path names (`GET bucket?tagging`)."""
    signed = _SCOPE.search(headers.get("Authorization", ""))
    service = signed.group(1) if signed else "?"
    target = headers.get("X-Amz-Target")
    if target:
        return service, target.rpartition(".")[2]
    action = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body)
    if action:
        return service, action.group(1).decode()
    where, _, query = path.partition("?")
    parts = [p for p in where.split("/") if p]
    what = ("service", "bucket", "object")[min(len(parts), 2)]
    subresource = query.split("&")[0].split("=")[0]
    return service, f"{method} {what}" + (f"?{subresource}" if subresource else "")


class Proxy(http.server.ThreadingHTTPServer):
    """A proxy in front of moto on 127.0.0.1 that can misbehave as AWS sometimes does.

    - `throttled`: the first N requests are answered `503 SlowDown` (S3's throttling);
    - `hang_on`: a request whose body holds these bytes is forwarded, then its answer
      held back until `release()` (the call happened; the caller never hears of it);
    - `rewrite`: `rewrite(request body, answer body)` is the answer body the caller gets
      (what AWS answers and moto does not, such as a console that changes);
    - `refused`: operations (`operation`'s names) answered `AccessDenied`, as to a
      policy that does not allow them;
    - `refused_holding`: a request whose body holds every one of these bytes is answered
      `AccessDenied` too (one resource's calls refused, not all of an operation);
    - `calls`: how many requests it forwarded, by (service, operation) (`operation`).
    """

    daemon_threads = True

    def __init__(
        self,
        upstream: str,
        throttled: int = 0,
        hang_on: bytes | None = None,
        rewrite: Callable[[bytes, bytes], bytes] | None = None,
        refused: frozenset[str] = frozenset(),
        refused_holding: tuple[bytes, ...] = (),
    ) -> None:
        self.upstream, self.throttled, self.hang_on, self.seen = upstream, throttled, hang_on, 0
        self.rewrite = rewrite
        self.refused = refused
        self.refused_holding = refused_holding
        self.calls: collections.Counter[tuple[str, str]] = collections.Counter()
        self._counting = threading.Lock()
        self.hung = threading.Event()
        self._released = threading.Event()
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def release(self) -> None:
        self.hang_on = None
        self._released.set()

    def stop(self) -> None:
        self.release()
        self.shutdown()
        self.server_close()


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: Proxy

    def _any(self) -> None:
        self.server.seen += 1
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.seen <= self.server.throttled:
            error = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            self._answer(503, {"Content-Type": "application/xml"}, error)
            return
        _, called = operation(self.command, self.path, dict(self.headers.items()), body)
        holding = self.server.refused_holding
        if called in self.server.refused or (holding and all(part in body for part in holding)):
            if self.headers.get("X-Amz-Target"):
                denied = b'{"__type": "AccessDeniedException", "message": "not allowed by the test"}'
                self._answer(400, {"Content-Type": "application/x-amz-json-1.1"}, denied)
            else:
                denied = b"<ErrorResponse><Error><Code>AccessDenied</Code><Message>not allowed</Message></Error></ErrorResponse>"
                self._answer(403, {"Content-Type": "text/xml"}, denied)
            return
        with self.server._counting:
            self.server.calls[operation(self.command, self.path, dict(self.headers.items()), body)] += 1
        headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "expect"}}
        # Else urllib says the body is a form, and moto's server reads it as one.
        headers.setdefault("Content-Type", "application/octet-stream")
        request = urllib.request.Request(
            self.server.upstream + self.path, data=body or None, method=self.command, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = (response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            answer = (error.code, dict(error.headers), error.read())
        if self.server.rewrite is not None:
            answer = (answer[0], answer[1], self.server.rewrite(body, answer[2]))
        if self.server.hang_on is not None and self.server.hang_on in body:
            self.server.hung.set()
            self.server._released.wait(120)
        self._answer(*answer)

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in {"content-length", "transfer-encoding", "connection", "server", "date"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the caller is gone (killed)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass
