"""The AWS calls a no-op `scoot plan` makes, per service, counted at moto's server.

Run from anywhere (moto and boto3 installed: `pip install -e '.[test]'`):

    python bench/aws_calls.py            # 20 and 200 objects (a few minutes)
    python bench/aws_calls.py --quick    # 10 and 100 objects

An application of N objects, one component per five: a compute with a port, a
bucket, a table, and a connection from the compute to each (what the catalog
example has). It is applied on moto's server (`python -m moto.server` on
127.0.0.1) through a proxy that counts every request it forwards by service and
operation (`tests/aws/moto_server.py`: the count is the server's, not the
client's); then the counter is cleared, `scoot plan` runs (a whole process,
nothing to do), and what it asked is the figure. Then the application is
destroyed with its data.

Target (issue 17): for 10× the objects, at most 2× the calls, per service, wherever
the AWS API allows (docs/drivers/aws.md lists what it does not allow). A service
whose pages at moto's server are not AWS's gets AWS's figure too, counted from
what it listed, and is judged by it; a MISS prints its reason beside its figure.
At 200 objects the Tagging API is the one MISS: 100 resources a page is AWS's
limit, and 200 objects are 240 tagged resources. A report, not a test: it exits 0
either way; the test that holds the bound is tests/aws/test_aws_refresh.py (5 and
50 objects).

`bench/scale.py` (or any other report) takes the figures from `figures()`.
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS_AWS = ROOT / "tests" / "aws"
if str(TESTS_AWS) not in sys.path:
    sys.path.insert(0, str(TESTS_AWS))

import boto3  # noqa: E402
from moto_server import CREDENTIALS, REGION, Proxy, start, stop  # noqa: E402

from scoot_runtime.drivers.aws.inventory import KINDS  # noqa: E402
from scoot_runtime.drivers.aws.naming import APPLICATION_TAG  # noqa: E402
from scoot_runtime.drivers.aws.refresh import TAGGED  # noqa: E402

# The calls for 10× the objects may be at most this many times the calls.
BOUND = 2.0
# The Tagging API's largest page (`ResourcesPerPage`, AWS's limit), and the application's
# name here (what its resources are counted by: scoot:application).
RESOURCES_A_PAGE = 100
APPLICATION = "scale"
OBJECTS_PER_UNIT = 5
UNITS, QUICK_UNITS = 4, 2  # components at the smaller size: 20 objects (quick: 10)
SOURCE = "print('hello')\n"


def architecture(units: int) -> str:
    """`units` components of five objects each (see the module's docstring)."""
    parts = [f'application {APPLICATION} {{\n  owner = "acme"\n}}\n']
    for number in range(units):
        parts.append(
            f"""
component c{number} {{
  source = "./src"

  compute web {{
    command = ["python3", "server.py"]
    port    = 8080
  }}

  storage files {{ engine = "bucket" }}

  storage rows {{ engine = "table" }}

  connection web_files {{ from = web, to = files }}

  connection web_rows {{ from = web, to = rows }}
}}
"""
        )
    return "".join(parts)


def make_application(folder: Path, units: int, endpoint: str) -> None:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "server.py").write_text(SOURCE, encoding="utf-8")
    (folder / "architecture.sct").write_text(architecture(units), encoding="utf-8")
    (folder / "scoot.toml").write_text(
        '[architecture]\npath = "."\n\n[targets.aws]\ncloud = "aws"\n'
        f'region = "{REGION}"\nendpoint_url = "{endpoint}"\n',
        encoding="utf-8",
    )


def scoot(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`scoot …` as a user runs it: a process of its own, with moto's dummy credentials."""
    return subprocess.run(
        [sys.executable, "-m", "scoot_cli", *arguments, str(folder)],
        env={**os.environ, **CREDENTIALS},
        capture_output=True,
        text=True,
        timeout=1800,
    )


def _checked(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def tagged_resources(endpoint: str) -> int:
    """How many resources the driver's Tagging API listing lists of the application."""
    client = boto3.client("resourcegroupstaggingapi", region_name=REGION, endpoint_url=endpoint)
    pages = client.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": APPLICATION_TAG, "Values": [APPLICATION]}],
        ResourceTypeFilters=sorted({*KINDS, *TAGGED}),
    )
    return sum(len(page["ResourceTagMappingList"]) for page in pages)


@dataclass(frozen=True)
class Plan:
    calls: collections.Counter[tuple[str, str]]  # (service, operation) → calls
    tagged: int  # the resources the Tagging API's listing lists


def plan_calls(proxy: Proxy, folder: Path, units: int) -> Plan:
    """The calls of a no-op `scoot plan` of `units` components applied through `proxy`,
    and what its Tagging API listing lists; the application is destroyed after."""
    make_application(folder, units, proxy.url)
    try:
        _checked(scoot(folder, "apply", "--target", "aws", "--yes"), "scoot apply")
        tagged = tagged_resources(proxy.url)
        proxy.calls.clear()
        result = scoot(folder, "plan", "--target", "aws", "--detailed-exitcode")
        counted = collections.Counter(proxy.calls)
        if result.returncode != 0:  # 2: the plan has changes, so it is not a no-op plan
            raise RuntimeError(f"scoot plan is not a no-op ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return Plan(counted, tagged)
    finally:
        scoot(folder, "destroy", "--target", "aws", "--yes", "--delete-data")


def by_service(calls: collections.Counter[tuple[str, str]]) -> dict[str, int]:
    totals: dict[str, int] = collections.defaultdict(int)
    for (service, _), count in calls.items():
        totals[service] += count
    return dict(totals)


def pages(resources: int) -> int:
    """The Tagging API's pages on AWS for `resources` (an empty listing is one call too)."""
    return max(1, math.ceil(resources / RESOURCES_A_PAGE))


@dataclass(frozen=True)
class Row:
    service: str
    small: int  # calls at the smaller size
    large: int  # calls at 10× the objects
    # The calls AWS makes where moto's server pages otherwise; the row is judged by them.
    aws: tuple[int, int] | None = None
    reason: str = ""  # why, beside the figure, when the row is not a plain PASS

    @property
    def ratio(self) -> float:
        return _ratio(*(self.aws or (self.small, self.large)))

    @property
    def passed(self) -> bool:
        return self.ratio <= BOUND

    @property
    def verdict(self) -> str:
        return ("PASS" if self.passed else "MISS") + (f"  {self.reason}" if self.reason else "")


def _ratio(small: int, large: int) -> float:
    return large / small if small else float(large or 1)


def tagging_row(small: int, large: int, tagged: tuple[int, int]) -> Row:
    """The Tagging API's row: judged by AWS's pages of 100 resources (moto's server ends a
    page at 100 tags when `TagsPerPage` is not sent: four tags a resource, 24 resources)."""
    aws = pages(tagged[0]), pages(tagged[1])
    reason = f"on AWS {aws[0]} -> {aws[1]} calls: {tagged[0]} -> {tagged[1]} tagged resources"
    if _ratio(*aws) > BOUND:
        reason += f", {RESOURCES_A_PAGE} a page is AWS's limit: a call per {RESOURCES_A_PAGE} resources, not per object"
    if aws != (small, large):
        reason += f"; moto's server ends a page at 100 tags ({small} -> {large})"
    return Row("tagging", small, large, aws, reason)


@dataclass(frozen=True)
class Figures:
    objects: tuple[int, int]
    rows: list[Row]
    # The operations of each size, for the detail: (service, operation) → calls.
    calls: tuple[collections.Counter[tuple[str, str]], collections.Counter[tuple[str, str]]]

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)


@contextmanager
def counting_server() -> Iterator[Proxy]:
    """moto's server on 127.0.0.1 behind a counting proxy, for the length of the block."""
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    with tempfile.TemporaryDirectory(prefix="scoot-aws-calls-") as scratch:
        server, url = start(Path(scratch) / "moto.log")
        proxy = Proxy(url)
        proxy.start()
        try:
            yield proxy
        finally:
            proxy.stop()
            stop(server)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def figures(units: int = 4, proxy: Proxy | None = None) -> Figures:
    """The calls per service of a no-op plan at `units` and 10× `units` components (five
    objects each), through `proxy` (a counting proxy in front of moto), else a server
    started for it."""
    if proxy is None:
        with counting_server() as started:
            return figures(units, started)
    with tempfile.TemporaryDirectory(prefix="scoot-aws-calls-") as scratch:
        small = plan_calls(proxy, Path(scratch) / "small", units)
        large = plan_calls(proxy, Path(scratch) / "large", units * 10)
    totals = by_service(small.calls), by_service(large.calls)
    rows = []
    for service in sorted(set(totals[0]) | set(totals[1])):
        counted = totals[0].get(service, 0), totals[1].get(service, 0)
        if service == "tagging":
            rows.append(tagging_row(*counted, (small.tagged, large.tagged)))
        else:
            rows.append(Row(service, *counted))
    return Figures((units * OBJECTS_PER_UNIT, units * 10 * OBJECTS_PER_UNIT), rows, (small.calls, large.calls))


def report(found: Figures) -> str:
    small, large = found.objects
    lines = [
        f"AWS calls of a no-op `scoot plan`, counted at moto's server (target: {large} objects ≤ {BOUND:g}× the calls of {small})",
        f"{'service':<28}{small:>8}{large:>8}   ratio",
    ]
    for row in found.rows:
        lines.append(f"{row.service:<28}{row.small:>8}{row.large:>8}   {row.ratio:5.2f}  {row.verdict}")
    total_small, total_large = sum(r.small for r in found.rows), sum(r.large for r in found.rows)
    lines.append(f"{'all':<28}{total_small:>8}{total_large:>8}   {total_large / max(total_small, 1):5.2f}")
    if not any(service == "ssm" for service, _ in found.calls[1]):
        lines.append("  ssm: no call: a launch parameter's name and tags come from the Tagging API's listing")
    lines.append("")
    lines.append(f"operations at {large} objects:")
    for (service, operation), count in sorted(found.calls[1].items()):
        lines.append(f"  {service:<26}{operation:<34}{count:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10 and 100 objects instead of 20 and 200")
    options = parser.parse_args(argv)
    print(report(figures(QUICK_UNITS if options.quick else UNITS)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
