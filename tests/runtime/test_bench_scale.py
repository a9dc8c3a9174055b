"""`bench/scale.py --quick` keeps working: it runs the real `scoot` commands, and prints
every figure and a verdict for each target, the AWS calls (section 2, at moto's server) too.

A smoke test, not a benchmark: the timings are not asserted (CI machines are noisy);
only that each measurement ran (no NOT MEASURED, no traceback) and printed its figure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.runtime.test_bench_apply import quick_report

ROOT = Path(__file__).resolve().parent.parent.parent
BENCH = ROOT / "bench" / "scale.py"

pytestmark = pytest.mark.slow  # whole `scoot apply` and `scoot plan` processes, moto: about a minute

SECONDS = r"\d+\.\d{3} s"


@pytest.fixture(scope="module")
def report() -> str:
    return quick_report(BENCH, 600)


def test_every_target_is_measured(report: str) -> None:
    verdicts = re.findall(r"^  \S.*?  (PASS|MISS|NOT MEASURED)  ", report, re.MULTILINE)
    assert len(verdicts) == 6, report
    assert "NOT MEASURED" not in verdicts, report


def test_each_size_prints_the_whole_command_beside_its_references(report: str) -> None:
    for size in ("100", "1,000"):
        block = report.split(f"   {size} objects\n", 1)[1]
        for label in ("plan (no-op), whole", "plan, engine only", "apply (new), whole", "apply, engine only", "python -c pass"):
            assert re.search(rf"^   {re.escape(label)}\s+{SECONDS}", block, re.MULTILINE), (label, report)
        assert re.search(r"^   whole / engine: plan \d+\.\dx, apply \d+\.\dx", block, re.MULTILINE), report


def test_the_targets_name_their_figures(report: str) -> None:
    assert re.search(r"^   an object more costs: plan -?\d+ µs, apply -?\d+ µs", report, re.MULTILINE), report
    assert re.search(rf"^  no-op plan of 1,000 <= 1\.0 s\s+(PASS|MISS)  {SECONDS}", report, re.MULTILINE), report
    assert re.search(rf"^  apply of 1,000 new <= 4\.0 s\s+(PASS|MISS)  {SECONDS}", report, re.MULTILINE), report
    for name in ("plan", "apply"):
        assert re.search(rf"^  {name} linear: 10x objects <= 11x\s+(PASS|MISS)  \d+\.\d\dx the time", report, re.MULTILINE)
    # Issue 17 says MB: compared with 100e6 bytes, each peak shown in MB and MiB.
    peak = r"\d+\.\d MB \(\d+\.\d MiB\)"
    assert re.search(rf"^  peak memory at 1,000 <= 100 MB\s+(PASS|MISS)  plan {peak}, apply {peak}", report, re.MULTILINE), report


def test_the_aws_calls_are_a_section_with_their_verdict(report: str) -> None:
    section = report.split("\n2. AWS calls", 1)[1]
    for service in ("dynamodb", "ec2", "s3", "iam"):
        assert re.search(rf"^   {service}\s+\d+\s+\d+\s+\d+\.\d\d  (PASS|MISS)$", section, re.MULTILINE), (service, report)
    assert re.search(r"^  AWS calls: 10x objects <= 2x calls\s+(PASS|MISS)  ", section, re.MULTILINE), report
