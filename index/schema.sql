-- The screenwise store. store.py applies this file to a new database and records
-- SCHEMA_VERSION in PRAGMA user_version. Decisions, theme labels and audit events are
-- append-only: triggers refuse updates, and deletes other than a whole project's.

CREATE TABLE projects (
    project_id  INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    question    TEXT NOT NULL DEFAULT '',
    mode        TEXT NOT NULL DEFAULT 'single' CHECK (mode IN ('single', 'double')),
    settings    TEXT NOT NULL DEFAULT '{}',          -- JSON object
    created_at  TEXT NOT NULL
);

CREATE TABLE themes (
    theme_id    INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0),
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL,
    UNIQUE (project_id, name)
);

-- One row per imported file.
CREATE TABLE files (
    file_id     INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    filename    TEXT NOT NULL,
    format      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    read        INTEGER NOT NULL,                    -- records in the file
    added       INTEGER NOT NULL,                    -- new, unique records
    duplicates  INTEGER NOT NULL,                    -- records linked to an earlier one
    imported_by TEXT NOT NULL DEFAULT '',
    imported_at TEXT NOT NULL
);
CREATE INDEX files_project ON files (project_id, sha256);

CREATE TABLE records (
    record_id        INTEGER PRIMARY KEY,
    project_id       INTEGER NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    file_id          INTEGER NOT NULL REFERENCES files (file_id) ON DELETE CASCADE,
    source_id        TEXT NOT NULL DEFAULT '',       -- the record's id in its file
    source_line      INTEGER,
    title            TEXT NOT NULL DEFAULT '',
    abstract         TEXT NOT NULL DEFAULT '',
    authors          TEXT NOT NULL DEFAULT '[]',     -- JSON list
    year             INTEGER,
    journal          TEXT NOT NULL DEFAULT '',
    doi              TEXT NOT NULL DEFAULT '',
    pmid             TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL DEFAULT '',
    keywords         TEXT NOT NULL DEFAULT '[]',     -- JSON list
    ref_type         TEXT NOT NULL DEFAULT '',
    notes            TEXT NOT NULL DEFAULT '',
    extra            TEXT NOT NULL DEFAULT '{}',     -- JSON object of other fields
    doi_key          TEXT NOT NULL DEFAULT '',       -- normalised, for dedup
    pmid_key         TEXT NOT NULL DEFAULT '',
    title_key        TEXT NOT NULL DEFAULT '',
    text_hash        TEXT,                           -- NULL: no title and no abstract
    duplicate_of     INTEGER REFERENCES records (record_id),
    duplicate_reason TEXT CHECK (duplicate_reason IN ('doi', 'pmid', 'title'))
);
CREATE INDEX records_project ON records (project_id, duplicate_of);
CREATE INDEX records_doi ON records (project_id, doi_key) WHERE doi_key != '';
CREATE INDEX records_pmid ON records (project_id, pmid_key) WHERE pmid_key != '';
CREATE INDEX records_title ON records (project_id, title_key) WHERE title_key != '';

CREATE TABLE decisions (
    decision_id INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    record_id   INTEGER NOT NULL REFERENCES records (record_id) ON DELETE CASCADE,
    stage       TEXT NOT NULL DEFAULT 'title_abstract'
                CHECK (stage IN ('title_abstract', 'full_text')),
    -- 'undecided' retracts: the record has no current decision until the next row.
    label       TEXT NOT NULL CHECK (label IN ('include', 'exclude', 'maybe', 'undecided')),
    reviewer    TEXT NOT NULL,
    origin      TEXT NOT NULL DEFAULT 'screen' CHECK (origin IN ('prior', 'screen', 'resolution')),
    reason      TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE INDEX decisions_record ON decisions (project_id, record_id, stage, decision_id);

-- The themes of a record: the newest row per record counts; older rows are its history.
CREATE TABLE theme_labels (
    label_id    INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    record_id   INTEGER NOT NULL REFERENCES records (record_id) ON DELETE CASCADE,
    themes      TEXT NOT NULL,                       -- JSON list of theme names; null: withdrawn
    reviewer    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX theme_labels_record ON theme_labels (project_id, record_id, label_id);

CREATE TABLE audit (
    event_id    INTEGER PRIMARY KEY,
    project_id  INTEGER REFERENCES projects (project_id) ON DELETE CASCADE,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}',          -- JSON object
    created_at  TEXT NOT NULL
);
CREATE INDEX audit_project ON audit (project_id, event_id);

-- Sentence vectors by (model, text hash): nothing is embedded twice, whichever project asks.
CREATE TABLE embeddings (
    model       TEXT NOT NULL,
    text_hash   TEXT NOT NULL,
    vector      BLOB NOT NULL,                       -- float32, little-endian
    PRIMARY KEY (model, text_hash)
) WITHOUT ROWID;

CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER theme_labels_no_update BEFORE UPDATE ON theme_labels
BEGIN SELECT RAISE(ABORT, 'theme labels are append-only'); END;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
-- A row may go only with its whole project (ON DELETE CASCADE runs after the project row is gone).
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
WHEN EXISTS (SELECT 1 FROM projects WHERE project_id = OLD.project_id)
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER theme_labels_no_delete BEFORE DELETE ON theme_labels
WHEN EXISTS (SELECT 1 FROM projects WHERE project_id = OLD.project_id)
BEGIN SELECT RAISE(ABORT, 'theme labels are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN EXISTS (SELECT 1 FROM projects WHERE project_id = OLD.project_id)
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
