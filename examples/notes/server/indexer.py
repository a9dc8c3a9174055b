"""The notes indexer: finds the words of new and changed notes, for `GET /notes?q=word`.

Standard library only; the settings of `store.py`, and:

    POLL_SECONDS  how long to wait when there is nothing to do (default 2)
    BATCH_SIZE    how many notes one replica claims at a time (default 20)

Replicas share the work: each claims a batch in one write transaction, so no
two index the same note, and a claim that is not finished in a minute (its
replica died) lapses. A note is indexed at the revision it was read at; a note
changed meanwhile stays due and is indexed again.

`python3 indexer.py --check` is the health check: exit 0 when the database answers.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager

import store

POLL_SECONDS = float(os.environ.get("POLL_SECONDS", "2"))
BATCH_SIZE = int(os.environ.get("BATCH_SIZE", "20"))
CLAIM_SECONDS = 60
REPLICA = f"indexer[{os.getpid()}]"

stopping = threading.Event()


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction, taken at once: one writer at a time, so claims cannot overlap."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def claim(db: sqlite3.Connection) -> list[sqlite3.Row]:
    """Claim up to BATCH_SIZE notes that need indexing."""
    now = time.time()
    with transaction(db):
        rows = db.execute(
            "SELECT id, title, body, revision FROM notes "
            "WHERE indexed_revision < revision AND (claimed_until IS NULL OR claimed_until < ?) "
            "ORDER BY id LIMIT ?",
            (now, BATCH_SIZE),
        ).fetchall()
        db.executemany(
            "UPDATE notes SET claimed_until = ? WHERE id = ?",
            [(now + CLAIM_SECONDS, row["id"]) for row in rows],
        )
    return rows


def text_of(db: sqlite3.Connection, note: sqlite3.Row) -> str:
    """The note's title and body, and the text of its text attachments."""
    texts = [note["title"], note["body"]]
    for (name,) in db.execute("SELECT name FROM attachments WHERE note_id = ?", (note["id"],)):
        path = store.attachment_path(note["id"], name)
        if path.suffix.lower() in store.TEXT_SUFFIXES and path.is_file():
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def index(db: sqlite3.Connection, note: sqlite3.Row) -> None:
    found = store.words(text_of(db, note))
    with transaction(db):
        db.execute("DELETE FROM words WHERE note_id = ?", (note["id"],))
        db.executemany(
            "INSERT INTO words (word, note_id) VALUES (?, ?)", [(w, note["id"]) for w in found]
        )
        db.execute(
            "UPDATE notes SET indexed_revision = ?, claimed_until = NULL WHERE id = ?",
            (note["revision"], note["id"]),
        )
    print(
        f"{REPLICA}: indexed note {note['id']} (revision {note['revision']}, {len(found)} words)",
        flush=True,
    )


def run_once() -> int:
    with closing(store.connect()) as db:
        db.isolation_level = None  # transactions are explicit: see transaction()
        notes = claim(db)
        for note in notes:
            if stopping.is_set():
                break  # the claims left lapse, and another replica takes them
            index(db, note)
    return len(notes)


def check() -> int:
    try:
        with closing(store.connect()) as db:
            db.execute("SELECT COUNT(*) FROM notes").fetchone()
    except sqlite3.Error as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())

    def stop(signum: int, _frame: object) -> None:
        print(f"{REPLICA}: {signal.Signals(signum).name}, stopping", flush=True)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    store.init()
    print(f"{REPLICA}: indexing {store.NOTES_DB}", flush=True)
    while not stopping.is_set():
        try:
            busy = run_once() > 0
        except sqlite3.OperationalError as error:
            print(f"{REPLICA}: database busy ({error}); retrying", flush=True)
            busy = False
        if not busy:
            stopping.wait(POLL_SECONDS)
    print(f"{REPLICA}: stopped", flush=True)


if __name__ == "__main__":
    main()
