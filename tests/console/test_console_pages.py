"""`scoot console` end to end on small applications of their own (the shop's test is
test_console_browser.py): destroy from the page, and the picture of 60 objects. The real
command, driven by Debian's headless chromium through Playwright.

With SCOOT_UPDATE_SCREENSHOTS=1 the run writes docs/console/destroy.png and many.png.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.console.harness import CHROMIUM, running_console, shoot
from tests.console.test_console_server import tiny_app

# Never skipped: without Debian's chromium (`.ci/run` installs it) or playwright (the
# test extras) these tests fail, saying which is missing.
pytestmark = pytest.mark.slow



@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is not installed: `apt-get install chromium` (.ci/run does)"
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


def test_destroy_from_the_page_shows_the_plan_asks_for_the_name_and_destroys_exactly_it(tmp_path: Path) -> None:
    app = tiny_app(tmp_path / "tiny", ("notes", "files"))
    lock = app / "scoot.lock"
    with running_console(app, "--editor", "cursor") as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 640})
        page.goto(url)
        for address in ("store.notes", "store.files"):
            page.wait_for_selector(f'.node[data-address="{address}"][data-status="running"]', timeout=20_000)

        # The plan `scoot plan --destroy` makes; a deletion has no `.sct` line.
        page.click("#destroy-button")
        for address in ("store.notes", "store.files"):
            page.wait_for_selector(f'#changes .change[data-address="{address}"][data-action="delete"]', timeout=20_000)
        assert page.locator("#changes a.change-source").count() == 0
        button = page.locator("#apply-button")
        assert button.text_content() == "Destroy these 2 objects" and button.is_disabled()
        page.fill("#confirm-name", "tin")
        assert button.is_disabled()
        page.fill("#confirm-name", "tiny")
        assert button.is_enabled()
        shoot(page, "destroy.png")
        assert set(json.loads(lock.read_text())["targets"]["local"]["objects"]) == {"store.notes", "store.files"}

        # Destroyed, with each object's progress; the picture follows.
        button.click()
        result = page.wait_for_selector("#apply-result", timeout=60_000)
        assert result is not None and result.get_attribute("data-state") == "done", result.text_content()
        for address in ("store.notes", "store.files"):
            assert page.locator(f'#progress [data-address="{address}"][data-status="done"]').count() == 1
            page.wait_for_selector(f'.node[data-address="{address}"][data-status="not created"]', timeout=20_000)
        assert json.loads(lock.read_text())["targets"]["local"]["objects"] == {}

        # The plan, now: both created again, each beside its line, in the editor chosen.
        page.click("#plan-button")
        page.wait_for_selector('#changes .change[data-address="store.notes"][data-action="create"]', timeout=20_000)
        href = page.get_attribute('#changes .change[data-address="store.notes"] a.change-source', "href") or ""
        assert href == f"cursor://file{(app / 'architecture.sct').resolve()}:5", href  # `storage notes {`


def many_objects(folder: Path) -> Path:
    """An application of 60 objects: six components of a compute and nine storages, each
    compute connected to the first storage of the component before it."""
    (folder / "src").mkdir(parents=True)
    parts = ["application many {\n}\n"]
    for c in range(6):
        storages = "".join(f'  storage s{i} {{\n    engine = "sqlite"\n  }}\n' for i in range(9))
        connection = f"  connection up {{ from = w, to = c{c - 1}.s0 }}\n" if c else ""
        parts.append(
            f'component c{c} {{\n  source = "./src"\n\n  compute w {{\n    command = ["python3", "-c", "pass"]\n  }}\n'
            f"{storages}{connection}}}\n"
        )
    (folder / "architecture.sct").write_text("\n".join(parts), encoding="utf-8")
    return folder


def overlapping(boxes: list[dict[str, float]]) -> list[tuple[str, str]]:
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]:
                found.append((str(a["name"]), str(b["name"])))
    return found


BOXES = """selector => [...document.querySelectorAll(selector)].map(element => {
  const box = element.getBoundingClientRect();
  const named = element.closest("[data-address], [data-component]");
  return {name: named.dataset.address || named.dataset.component, x: box.x, y: box.y, w: box.width, h: box.height};
})"""


def test_sixty_objects_are_drawn_without_overlapping(tmp_path: Path) -> None:
    app = many_objects(tmp_path / "many")
    with running_console(app) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        # Waited for by selector, not wait_for_function: the page's CSP forbids the eval it polls with.
        page.locator(".node").nth(59).wait_for(timeout=30_000)
        nodes = page.evaluate(BOXES, ".node rect.body")
        groups = page.evaluate(BOXES, ".component rect.group")
        assert len(nodes) == 60 and len(groups) == 6
        assert all(box["w"] > 0 and box["h"] > 0 for box in nodes + groups)
        assert overlapping(nodes) == [] and overlapping(groups) == []
        # Each node inside its component's box.
        by_name = {box["name"]: box for box in groups}
        for box in nodes:
            group = by_name[str(box["name"]).partition(".")[0]]
            assert group["x"] <= box["x"] and box["x"] + box["w"] <= group["x"] + group["w"], box
            assert group["y"] <= box["y"] and box["y"] + box["h"] <= group["y"] + group["h"], box
        assert page.locator(".edge.connection").count() == 5
        # Components in dependency order: what is used stands left of what uses it.
        assert [box["x"] for box in sorted(groups, key=lambda g: str(g["name"]))] == sorted(box["x"] for box in groups)
        shoot(page, "many.png")
