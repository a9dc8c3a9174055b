"""`bench/apply.py --quick` keeps working: it runs, and prints every figure and a verdict for each.

A smoke test, not a benchmark: the timings are not asserted (CI machines are noisy);
only that each measurement ran (no NOT MEASURED, no traceback) and printed its figure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
BENCH = ROOT / "bench" / "apply.py"

pytestmark = pytest.mark.slow  # about 3 s of real sleeps and fsyncs

SECONDS = r"\d+\.\d{3} s"


def quick_report(bench: Path, timeout: float) -> str:
    """What `bench --quick` prints, run from the repository; it must exit 0 with no traceback."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, str(bench), "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def report() -> str:
    return quick_report(BENCH, 120)


def test_every_target_is_measured(report: str) -> None:
    verdicts = re.findall(r"^  \S.*?  (PASS|MISS|NOT MEASURED)  ", report, re.MULTILINE)
    assert len(verdicts) == 4, report
    assert "NOT MEASURED" not in verdicts, report


def test_independent_apply_figures(report: str) -> None:
    assert re.search(rf"^   plan \+ apply\s+{SECONDS}", report, re.MULTILINE), report
    assert re.search(rf"^   bound at \d+\s+{SECONDS}\s+ceil\(200/\d+\)", report, re.MULTILINE), report
    assert re.search(rf"^   bare asyncio at \d+\s+{SECONDS}", report, re.MULTILINE), report
    assert re.search(r"^   Terraform's default 10\s+2\.000 s", report, re.MULTILINE), report
    assert re.search(r"^  200 independent <= ", report, re.MULTILINE), report


def test_chain_figures(report: str) -> None:
    # The last link was given the previous one's output: references were resolved.
    assert "chain.c04 was given UP = '/wait/chain.c03'" in report, report
    assert re.search(r"^  chain 5 <= 1\.1 x 5 x 0\.1 s", report, re.MULTILINE), report


def test_noop_plan_figures(report: str) -> None:
    assert re.search(rf"^   plan\s+{SECONDS}\s+\(1,000 no-op, 1,000 reads;", report, re.MULTILINE), report
    assert re.search(r"^  no-op plan of 1,000 <= ", report, re.MULTILINE), report


def test_state_bytes_figures(report: str) -> None:
    sizes = re.findall(r"^\s+([\d,]+) objects\s+lock\s+[\d,]+ B\s+journal\s+[\d,]+ B\s+total", report, re.MULTILINE)
    assert sizes == ["100", "1,000"], report
    assert re.search(r"^  state bytes linear \(~10x\)\s+(PASS|MISS)\s+\d+\.\d+x", report, re.MULTILINE), report
