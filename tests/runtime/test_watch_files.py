"""The desired state's files under `scoot watch`: a save is told by its content, on real files."""

from __future__ import annotations

import os
from pathlib import Path

from scoot_runtime.watch.desired import FilePoller, digests


def test_a_save_is_told_by_its_content(tmp_path: Path) -> None:
    sct = tmp_path / "architecture.sct"
    sct.write_text("one\n", encoding="utf-8")
    files = {"architecture.sct": sct}
    told: list[str] = []
    poller = FilePoller(lambda: dict(files), told.append, period=60)
    poller.start()
    try:
        assert poller.check() == []
        sct.write_text("one\n", encoding="utf-8")  # saved again, the same bytes
        assert poller.check() == []
        sct.write_text("two\n", encoding="utf-8")  # in place, the same size, a second later
        later = os.stat(sct).st_mtime_ns + 1_000_000_000
        os.utime(sct, ns=(later, later))
        assert poller.check() == ["architecture.sct"]
        swap = tmp_path / ".architecture.sct.swp"  # an editor's save: a new file renamed over it
        swap.write_text("three\n", encoding="utf-8")
        os.replace(swap, sct)
        assert poller.check() == ["architecture.sct"]
        other = tmp_path / "api.sct"
        other.write_text("api\n", encoding="utf-8")
        files["api.sct"] = other  # a file added to the folder, then removed
        assert poller.check() == ["api.sct"]
        del files["api.sct"]
        assert poller.check() == ["api.sct"]
        sct.unlink()  # gone, and back as it was
        assert poller.check() == ["architecture.sct"]
        sct.write_text("three\n", encoding="utf-8")
        assert poller.check() == ["architecture.sct"]
    finally:
        poller.stop()
    assert told == ["architecture.sct"] * 2 + ["api.sct"] * 2 + ["architecture.sct"] * 2
    # A look reads the files in full: the same bytes, the same revision, wherever they are.
    copy = tmp_path / "copy"
    copy.write_text("three\n", encoding="utf-8")
    assert digests(files)["architecture.sct"] == digests({"copy": copy})["copy"]
    assert digests({"gone": tmp_path / "nowhere"})["gone"].startswith("unreadable: ")
