-- The notes database. Every statement is idempotent: each process runs them at start.
-- A note needs indexing while indexed_revision < revision.

CREATE TABLE IF NOT EXISTS notes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    title            TEXT    NOT NULL,
    body             TEXT    NOT NULL DEFAULT '',
    created_at       REAL    NOT NULL,
    revision         INTEGER NOT NULL DEFAULT 1,
    indexed_revision INTEGER NOT NULL DEFAULT 0,
    claimed_until    REAL
);

CREATE TABLE IF NOT EXISTS attachments (
    note_id INTEGER NOT NULL REFERENCES notes (id),
    name    TEXT    NOT NULL,
    size    INTEGER NOT NULL,
    PRIMARY KEY (note_id, name)
);

CREATE TABLE IF NOT EXISTS words (
    word    TEXT    NOT NULL,
    note_id INTEGER NOT NULL REFERENCES notes (id),
    PRIMARY KEY (word, note_id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS notes_to_index ON notes (indexed_revision, revision);
