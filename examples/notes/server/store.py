"""What `web.py` and `indexer.py` share: configuration, the database, the attachments folder.

Configuration comes from the environment, which `architecture.sct` sets:

    NOTES_DB         the SQLite file (the `db` storage's `path`)
    ATTACHMENTS_DIR  the folder for attachments (the `attachments` storage's `path`)
    NOTES_SCHEMA     the schema's SQL (from `file("server/schema.sql")`); when it is
                     unset, schema.sql beside this file is read
"""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path

NOTES_DB = os.environ.get("NOTES_DB", "notes.sqlite")
ATTACHMENTS_DIR = Path(os.environ.get("ATTACHMENTS_DIR", "attachments"))

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_WORD = re.compile(r"[^\W_]{2,}")
TEXT_SUFFIXES = {".txt", ".md", ".csv", ".json"}


def connect() -> sqlite3.Connection:
    db = sqlite3.connect(NOTES_DB, timeout=15)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys = ON")
    return db


def init() -> None:
    """Create the database's tables and the attachments folder if they are missing."""
    Path(NOTES_DB).resolve().parent.mkdir(parents=True, exist_ok=True)
    ATTACHMENTS_DIR.mkdir(parents=True, exist_ok=True)
    schema = os.environ.get("NOTES_SCHEMA") or (Path(__file__).parent / "schema.sql").read_text()
    with closing(connect()) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(schema)


def safe_name(name: str) -> bool:
    """True for an attachment name that is a plain file name (no folders, no leading dot)."""
    return bool(_SAFE_NAME.match(name))


def attachment_path(note_id: int, name: str) -> Path:
    return ATTACHMENTS_DIR / str(note_id) / name


def words(text: str) -> set[str]:
    """The words a note is found by: lowercase runs of two or more letters or digits."""
    return {word.lower() for word in _WORD.findall(text)}
