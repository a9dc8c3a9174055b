"""The state store: scoot.lock (canonical, checksummed) and the journal that makes it crash-safe."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from scoot_model.objects import dumps
from scoot_runtime.state import (
    Journal,
    ModulePin,
    ObjectState,
    PendingOperation,
    StateError,
    StateFileModel,
    StateStore,
    TargetState,
    read_state_file,
    render_state_file,
    write_state_file,
)


def obj(n: int, kind: str = "compute", **config: Any) -> ObjectState:
    return ObjectState(
        kind=kind,
        config={"command": ["python", "-m", f"app{n}"], "port": 8000 + n, **config},
        digests={"command": f"sha256:{n:064x}", "port": f"sha256:{n + 1:064x}"},
        identity={"name": f"shop-api-web{n}", "pid": 1000 + n},
        outputs={"url": f"http://127.0.0.1:{8000 + n}", "port": 8000 + n},
        revision=None,
        depends_on=[f"api.db{n}"],
    )


def target(objects: int = 3, lineage: str = "11111111-1111-4111-8111-111111111111") -> TargetState:
    return TargetState(
        lineage=lineage,
        serial=7,
        cloud="local",
        objects={f"api.web{n}": obj(n) for n in range(objects)},
        pending={"api.worker": PendingOperation(operation="create", kind="compute", started="2026-01-02T03:04:05Z")},
    )


def record_checksum(record: dict[str, Any], *where: str) -> str:
    """A record's checksum as the format defines it: its canonical JSON, without its
    checksum (a target's without its objects and pending operations), with where it is."""
    canonical = dumps({**record, "checksum": "", "@": list(where)})
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def checksummed(data: dict[str, Any]) -> str:
    """The file text for `data` (version 2), each record's checksum as the format defines it."""
    data = json.loads(json.dumps(data))
    for name, target in data["targets"].items():
        header = {k: v for k, v in target.items() if k not in ("objects", "pending")}
        target["checksum"] = record_checksum(header, name)
        for section in ("objects", "pending"):
            for address, record in target.get(section, {}).items():
                record["checksum"] = record_checksum(record, name, section, address)
    for source, record in data.get("modules", {}).items():
        record["checksum"] = record_checksum(record, "modules", source)
    return dumps(data)


def whole_file_checksummed(data: dict[str, Any]) -> str:
    """The text of a version 1 file: one checksum of the whole content."""
    canonical = dumps({**data, "checksum": ""})
    return dumps({**data, "checksum": "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()})


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


# -- scoot.lock ---------------------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "scoot.lock"
    model = StateFileModel(targets={"local": target(), "prod": target(1, lineage=str(uuid.uuid4()))})
    write_state_file(path, model)
    assert read_state_file(path) == model
    text = path.read_text()
    assert text.endswith("}\n") and json.loads(text)["version"] == 2
    # A checksum in each target's header, each object and each pending operation.
    written = json.loads(text)
    assert "checksum" not in written
    for state in written["targets"].values():
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", state["checksum"])
        for record in [*state["objects"].values(), *state["pending"].values()]:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", record["checksum"])


def test_a_version_1_file_is_read(tmp_path: Path) -> None:
    """A scoot.lock of an older Scoot (one checksum for the whole file) is read, and
    written back as version 2 at the next write."""
    path = tmp_path / "scoot.lock"
    model = StateFileModel(targets={"local": target()})
    path.write_text(whole_file_checksummed({"version": 1, "targets": model.model_dump(mode="json")["targets"]}))
    assert read_state_file(path) == model
    path.write_text(path.read_text().replace('"port": 8001', '"port": 8002', 1))
    with pytest.raises(StateError, match="checksum does not match"):
        read_state_file(path)


def test_missing_file_is_an_empty_state(tmp_path: Path) -> None:
    assert read_state_file(tmp_path / "scoot.lock") == StateFileModel()


def test_deterministic_bytes(tmp_path: Path) -> None:
    forwards = target(20)
    backwards = forwards.model_copy(update={"objects": dict(reversed(list(forwards.objects.items())))})
    write_state_file(tmp_path / "a.lock", StateFileModel(targets={"local": forwards, "prod": target(2)}))
    write_state_file(tmp_path / "b.lock", StateFileModel(targets={"prod": target(2), "local": backwards}))
    assert (tmp_path / "a.lock").read_bytes() == (tmp_path / "b.lock").read_bytes()
    # Reading and writing again gives the same bytes.
    write_state_file(tmp_path / "c.lock", read_state_file(tmp_path / "a.lock"))
    assert (tmp_path / "c.lock").read_bytes() == (tmp_path / "a.lock").read_bytes()


def test_one_changed_object_is_a_small_diff(tmp_path: Path) -> None:
    root = tmp_path
    write_state_file(root / "scoot.lock", StateFileModel(targets={"local": target(200)}))
    before = (root / "scoot.lock").read_text()

    store = StateStore(root, "local", "local")
    state = store.load()
    store.begin()
    store.intent("api.web42", "update", "compute")
    store.result("api.web42", state.objects["api.web42"].model_copy(update={"config": {**obj(42).config, "port": 9999}}))
    store.commit()
    after = (root / "scoot.lock").read_text()

    lines = changed_lines(before, after)
    # The port line and the object's checksum; the serial and the target's checksum:
    # one line out, one line in, each. No other object's lines.
    assert len(lines) == 8, lines
    assert sum('"port": 9999' in line for line in lines) == 1
    assert sum('"serial"' in line for line in lines) == 2
    assert sum('"checksum"' in line for line in lines) == 4


def test_tampered_file_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "scoot.lock"
    write_state_file(path, StateFileModel(targets={"local": target()}))
    tampered = path.read_text().replace('"port": 8001', '"port": 8002', 1)
    path.write_text(tampered)

    with pytest.raises(StateError) as caught:
        read_state_file(path)
    message = str(caught.value)
    assert str(path) in message and "checksum" in message and "`api.web1` of target `local`" in message
    assert "not changed" in message and "version control" in message

    # A run against it refuses too, and never rewrites it.
    store = StateStore(tmp_path, "local", "local")
    with pytest.raises(StateError):
        store.load()
    assert path.read_text() == tampered


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "not valid JSON"),
        ('{"version": 1, "targets": {', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"version": 1, "targets": {}}', "no checksum"),
        ('{"version": 3, "targets": {}}', "version 3"),
        ('{"version": 2, "targets": {"t": {"cloud": "local", "lineage": "x"}}}', "target `t` has no checksum"),
        ("<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> other\n", "merge conflict"),
    ],
)
def test_damaged_file_is_refused(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "scoot.lock"
    path.write_text(content)
    with pytest.raises(StateError, match=re.escape(words)) as caught:
        read_state_file(path)
    assert str(path) in str(caught.value) and "not changed" in str(caught.value)
    assert path.read_text() == content


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scoot.lock"
    write_state_file(path, StateFileModel(targets={"local": target()}))
    whole = path.read_bytes()
    for size in range(0, len(whole) - 1, 97):
        path.write_bytes(whole[:size])
        with pytest.raises(StateError):
            read_state_file(path)


def test_schema_mismatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scoot.lock"
    data = StateFileModel(targets={"local": target()}).model_dump(mode="json")
    data["targets"]["local"]["objects"]["api.web0"]["surprise"] = True
    data["targets"]["local"]["serial"] = "seven"
    path.write_text(checksummed(data))
    with pytest.raises(StateError, match="does not match the state schema") as caught:
        read_state_file(path)
    assert "serial" in str(caught.value)


def test_render_matches_the_checksum_definition() -> None:
    pins = {"https://h/m.git?ref=v1": ModulePin(commit="a" * 40), "file:///x.git?ref=main": ModulePin(commit="b" * 40)}
    for model in (
        StateFileModel(targets={"local": target()}),
        StateFileModel(targets={"local": target(), "aws": target()}, modules=pins),  # the git modules' pins
        StateFileModel(),
    ):
        assert render_state_file(model) == checksummed(model.model_dump(mode="json"))


# -- The store and its journal ------------------------------------------------------------------


def test_new_target(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "local", "local")
    state = store.load()
    assert uuid.UUID(state.lineage).version == 4
    assert (state.serial, state.cloud, state.objects, state.pending) == (0, "local", {}, {})
    assert not store.recovered
    assert list(tmp_path.iterdir()) == []  # loading writes nothing

    store.begin()
    store.intent("api.web", "create", "compute")
    pending = store.state.pending["api.web"]
    assert datetime.fromisoformat(pending.started).utcoffset() is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", pending.started)
    store.result("api.web", obj(1))
    store.commit()

    assert not store.journal.exists()
    written = read_state_file(tmp_path / "scoot.lock").targets["local"]
    assert written == store.state
    assert (written.lineage, written.serial, written.pending) == (state.lineage, 1, {})
    assert StateStore(tmp_path, "local", "local").load() == written


def test_state_in_memory_is_what_the_journal_replays(tmp_path: Path) -> None:
    write_state_file(tmp_path / "scoot.lock", StateFileModel(targets={"local": target(3)}))
    store = StateStore(tmp_path, "local", "local")
    base = store.load().model_copy(deep=True)
    held = store.state  # readers keep this object: it must see the changes
    store.begin()
    store.intent("api.web0", "delete", "compute")
    store.result("api.web0", None)
    store.intent("api.web1", "update", "compute")  # interrupted: stays pending
    store.intent("api.web9", "create", "compute")
    store.result("api.web9", obj(9))
    store.result("api.worker", obj(5, kind="worker"))  # resolves the recorded pending create

    assert held is store.state
    assert set(held.objects) == {"api.web1", "api.web2", "api.web9", "api.worker"}
    assert set(held.pending) == {"api.web1"} and held.pending["api.web1"].operation == "update"
    assert store.journal.replay(base) == held


def run_and_snapshot(root: Path) -> tuple[TargetState, list[tuple[int, TargetState]]]:
    """A run recorded in a journal, with the state after every record and the journal size then."""
    write_state_file(root / "scoot.lock", StateFileModel(targets={"local": target(3)}))
    store = StateStore(root, "local", "local")
    base = store.load().model_copy(deep=True)
    snapshots = [(0, base)]

    def snap() -> None:
        snapshots.append((store.journal.path.stat().st_size, store.state.model_copy(deep=True)))

    store.begin()
    snap()
    steps: list[tuple[str, Any]] = [
        ("intent", ("api.web0", "delete", "compute")),
        ("result", ("api.web0", None)),
        ("intent", ("api.new", "create", "storage")),
        ("result", ("api.new", obj(7, kind="storage", engine="sqlite"))),
        ("intent", ("api.web1", "replace", "compute")),
        ("result", ("api.web1", None)),
        ("intent", ("api.web1", "create", "compute")),
        ("intent", ("api.web2", "update", "compute")),
        ("result", ("api.web2", obj(2, note="é ünïcode\nand a newline"))),
        ("result", ("api.worker", None)),
    ]
    for name, args in steps:
        getattr(store, name)(*args)
        snap()
    store.close()
    return base, snapshots


def test_replay_after_a_crash_at_every_byte(tmp_path: Path) -> None:
    base, snapshots = run_and_snapshot(tmp_path)
    journal = tmp_path / ".scoots" / "journal" / "local.jsonl"
    whole = journal.read_bytes()
    assert snapshots[-1][0] == len(whole)

    for size in range(len(whole) + 1):
        journal.write_bytes(whole[:size])
        store = StateStore(tmp_path, "local", "local")
        state = store.load()  # never raises
        expected = max((s for s in snapshots if s[0] <= size), key=lambda s: s[0])[1]
        assert state == expected, size
        assert store.recovered
    # The last state: web1 was being created again when the run stopped.
    assert set(state.pending) == {"api.web1"} and "api.web1" not in state.objects
    assert base.objects.keys() != state.objects.keys()


@pytest.mark.parametrize("cut", [1, 17, 40])
def test_a_run_after_a_torn_journal_continues_it(tmp_path: Path, cut: int) -> None:
    _, snapshots = run_and_snapshot(tmp_path)
    journal = tmp_path / ".scoots" / "journal" / "local.jsonl"
    whole = journal.read_bytes()
    torn = snapshots[4][0] + cut  # inside the fifth record
    journal.write_bytes(whole[:torn])

    store = StateStore(tmp_path, "local", "local")
    recovered = store.load()
    assert store.recovered and recovered == snapshots[4][1]
    store.begin()  # cuts the torn tail off so the next record is a line of its own
    assert journal.read_bytes() == whole[: snapshots[4][0]]
    store.result("api.web1", obj(1))
    replayed = Journal(tmp_path / ".scoots", "local").replay(snapshots[0][1])
    assert replayed == store.state
    store.commit()
    assert not journal.exists()
    assert read_state_file(tmp_path / "scoot.lock").targets["local"] == store.state


def test_crash_after_writing_the_lock_before_removing_the_journal(tmp_path: Path) -> None:
    run_and_snapshot(tmp_path)
    journal = tmp_path / ".scoots" / "journal" / "local.jsonl"
    kept = journal.read_bytes()
    store = StateStore(tmp_path, "local", "local")
    store.load()
    store.commit()
    committed = read_state_file(tmp_path / "scoot.lock").targets["local"]
    journal.write_bytes(kept)  # as if the journal had not been removed yet

    again = StateStore(tmp_path, "local", "local")
    assert again.load() == committed  # replaying a compacted journal changes nothing
    assert again.recovered


def test_first_run_crash_keeps_the_lineage_its_resources_carry(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "local", "local")
    lineage = store.load().lineage
    store.begin()
    store.intent("api.web", "create", "compute")
    store.close()  # killed: no scoot.lock was ever written

    again = StateStore(tmp_path, "local", "local")
    state = again.load()
    assert again.recovered and state.lineage == lineage
    assert state.pending["api.web"].operation == "create"


def test_journal_of_another_lineage_is_refused(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "local", "local")
    store.load()
    store.begin()
    store.intent("api.web", "create", "compute")
    store.close()
    write_state_file(tmp_path / "scoot.lock", StateFileModel(targets={"local": target()}))

    with pytest.raises(StateError, match="lineage") as caught:
        StateStore(tmp_path, "local", "local").load()
    assert "local.jsonl" in str(caught.value)


def test_damage_inside_the_journal_is_refused(tmp_path: Path) -> None:
    run_and_snapshot(tmp_path)
    journal = tmp_path / ".scoots" / "journal" / "local.jsonl"
    lines = journal.read_bytes().split(b"\n")
    lines[3] = lines[3][:10]
    journal.write_bytes(b"\n".join(lines))
    with pytest.raises(StateError, match="line 4"):
        StateStore(tmp_path, "local", "local").load()


def test_commit_keeps_other_targets(tmp_path: Path) -> None:
    prod = target(5, lineage=str(uuid.uuid4()))
    write_state_file(tmp_path / "scoot.lock", StateFileModel(targets={"local": target(5), "prod": prod}))
    before = (tmp_path / "scoot.lock").read_text()

    store = StateStore(tmp_path, "local", "local")
    store.load()
    store.begin()
    for n in range(5):
        store.intent(f"api.web{n}", "delete", "compute")
        store.result(f"api.web{n}", None)
    store.commit()

    after = read_state_file(tmp_path / "scoot.lock")
    assert after.targets["prod"] == prod
    assert after.targets["local"].objects == {}
    # The prod target's lines are the same bytes.
    def prod_block(text: str) -> list[str]:
        lines = text.splitlines()
        start = lines.index('    "prod": {')
        end = lines.index("    }", start)
        return lines[start : end + 1]

    assert len(prod_block(before)) > 50
    assert prod_block(before) == prod_block((tmp_path / "scoot.lock").read_text())


def test_a_second_writer_of_the_same_target_is_refused(tmp_path: Path) -> None:
    write_state_file(tmp_path / "scoot.lock", StateFileModel(targets={"local": target()}))
    first, second = StateStore(tmp_path, "local", "local"), StateStore(tmp_path, "local", "local")
    first.load()
    second.load()
    first.commit()
    written = (tmp_path / "scoot.lock").read_bytes()
    with pytest.raises(StateError, match="another run"):
        second.commit()
    assert (tmp_path / "scoot.lock").read_bytes() == written


@pytest.mark.parametrize("first_to_commit", ["started first", "started second"])
def test_two_overlapping_runs_keep_the_losers_records(tmp_path: Path, first_to_commit: str) -> None:
    # A forced apply lock: two runs of one target append to one journal, and the first
    # to commit removes it. The other's records must not go with it.
    write_state_file(tmp_path / "scoot.lock", StateFileModel(targets={"local": target()}))
    early, late = StateStore(tmp_path, "local", "local"), StateStore(tmp_path, "local", "local")
    early.load()
    early.begin()
    early.intent("api.a", "create", "compute")
    late.load()  # replays the early run's journal, as after a crash
    late.begin()
    late.intent("api.b", "create", "compute")
    early.result("api.a", obj(1))
    late.result("api.b", obj(2))
    late.intent("api.c", "create", "compute")  # still in flight when it loses
    winner, loser = (early, late) if first_to_commit == "started first" else (late, early)
    winner.commit()
    with pytest.raises(StateError, match="two runs overlapped") as lost:
        loser.commit()
    journal = tmp_path / ".scoots" / "journal" / "local.jsonl"
    assert str(journal) in str(lost.value) and "run the command again" in str(lost.value)
    recovered = StateStore(tmp_path, "local", "local")
    state = recovered.load()
    assert recovered.recovered
    assert {"api.a", "api.b"} <= set(state.objects)
    if loser is late:
        assert state.pending["api.c"].operation == "create"
    recovered.commit()
    assert not journal.exists()


def test_save_writes_a_given_state(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "local", "local")
    state = store.load()
    refreshed = state.model_copy(update={"objects": {"api.web1": obj(1)}})
    store.save(refreshed)
    assert read_state_file(tmp_path / "scoot.lock").targets["local"].objects == {"api.web1": obj(1)}
    assert store.state.serial == 1


def test_recording_cost_grows_linearly(tmp_path: Path) -> None:
    def bytes_written(records: int) -> int:
        root = tmp_path / str(records)
        root.mkdir()
        store = StateStore(root, "local", "local")
        store.load()
        store.begin()
        for n in range(records // 2):
            store.intent(f"api.web{n:05}", "create", "compute")
            store.result(f"api.web{n:05}", obj(n))
        journal = store.journal.path.stat().st_size
        store.commit()
        return journal + (root / "scoot.lock").stat().st_size

    small, large = bytes_written(1_000), bytes_written(10_000)
    assert 8 <= large / small <= 12, (small, large)


def test_target_names_stay_inside_the_workspace(tmp_path: Path) -> None:
    for name in ("../x", "a/b", "", ".hidden", "local\n"):
        with pytest.raises(ValueError, match="invalid target name"):
            StateStore(tmp_path, name, "local")


def test_the_journal_without_begin_refuses_to_record(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "local", "local")
    store.load()
    with pytest.raises(RuntimeError, match="begin"):
        store.intent("api.web", "create", "compute")
