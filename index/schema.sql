-- The screenwise store. store.py applies this file to a new database and records
-- SCHEMA_VERSION in PRAGMA user_version (store.py migrates older stores to it). Decisions,
-- theme labels and audit events are append-only and nothing is deleted: triggers refuse
-- updates and deletes, and a project is archived rather than deleted. Tokens and memberships
-- are credentials and access rights, not history: a token may be revoked and a membership
-- ended (one column set once, logged in the audit trail), but neither row is ever deleted.

CREATE TABLE projects (
    project_id  INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    question    TEXT NOT NULL DEFAULT '',
    mode        TEXT NOT NULL DEFAULT 'single' CHECK (mode IN ('single', 'double')),
    settings    TEXT NOT NULL DEFAULT '{}',          -- JSON object
    created_at  TEXT NOT NULL,
    archived_at TEXT                                 -- set once: hidden, everything kept
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

-- People: a reviewer's name is their identity in decisions and the audit trail; never renamed.
CREATE TABLE reviewers (
    reviewer_id INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0 AND name = trim(name)),
    is_admin    INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at  TEXT NOT NULL
);

-- API tokens: only the SHA-256 of each token is stored. Tokens are 32 random bytes, so a fast
-- hash is right (nothing to brute-force, unlike a password) and a lookup costs one index probe.
CREATE TABLE tokens (
    token_id    INTEGER PRIMARY KEY,
    reviewer_id INTEGER NOT NULL REFERENCES reviewers (reviewer_id),
    token_hash  TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Who belongs to which project, with which role; ending a membership sets removed_at.
CREATE TABLE memberships (
    membership_id INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects (project_id),
    reviewer_id   INTEGER NOT NULL REFERENCES reviewers (reviewer_id),
    role          TEXT NOT NULL CHECK (role IN ('reviewer', 'resolver', 'maintainer')),
    added_at      TEXT NOT NULL,
    removed_at    TEXT
);
CREATE UNIQUE INDEX memberships_current ON memberships (project_id, reviewer_id)
WHERE removed_at IS NULL;
CREATE INDEX memberships_reviewer ON memberships (reviewer_id) WHERE removed_at IS NULL;

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

CREATE TRIGGER projects_no_delete BEFORE DELETE ON projects
BEGIN SELECT RAISE(ABORT, 'projects are archived, never deleted'); END;
CREATE TRIGGER reviewers_no_delete BEFORE DELETE ON reviewers
BEGIN SELECT RAISE(ABORT, 'reviewers are never deleted'); END;
CREATE TRIGGER reviewers_no_update BEFORE UPDATE ON reviewers
BEGIN SELECT RAISE(ABORT, 'reviewers are never changed'); END;
CREATE TRIGGER tokens_no_delete BEFORE DELETE ON tokens
BEGIN SELECT RAISE(ABORT, 'tokens are revoked, never deleted'); END;
CREATE TRIGGER tokens_revoke_only BEFORE UPDATE ON tokens
WHEN OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL OR NEW.token_hash != OLD.token_hash
  OR NEW.reviewer_id != OLD.reviewer_id OR NEW.label != OLD.label
  OR NEW.created_at != OLD.created_at
BEGIN SELECT RAISE(ABORT, 'a token can only be revoked, once'); END;
CREATE TRIGGER memberships_no_delete BEFORE DELETE ON memberships
BEGIN SELECT RAISE(ABORT, 'memberships are ended, never deleted'); END;
CREATE TRIGGER memberships_end_only BEFORE UPDATE ON memberships
WHEN OLD.removed_at IS NOT NULL OR NEW.removed_at IS NULL OR NEW.role != OLD.role
  OR NEW.project_id != OLD.project_id OR NEW.reviewer_id != OLD.reviewer_id
  OR NEW.added_at != OLD.added_at
BEGIN SELECT RAISE(ABORT, 'a membership can only be ended, once'); END;

-- Long work (imports, embedding, training, review updates of large files) as durable jobs: a
-- task queue (huey) carries only the job id; this row is the truth. A worker claims a queued
-- job (state queued -> running, its name in ``worker``) and reports phase, progress and rate as
-- it goes; ``updated_at`` is its heartbeat. A job whose worker died is queued again or failed
-- with the reason when the next server or worker starts.
CREATE TABLE jobs (
    job_id       TEXT PRIMARY KEY,
    project_id   INTEGER REFERENCES projects (project_id),
    kind         TEXT NOT NULL CHECK (kind IN ('import', 'embed', 'train', 'candidates')),
    state        TEXT NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    phase        TEXT NOT NULL DEFAULT '',
    done         INTEGER NOT NULL DEFAULT 0,
    total        INTEGER NOT NULL DEFAULT 0,
    rate         REAL,                                -- records per second in this phase
    error        TEXT,
    params       TEXT NOT NULL DEFAULT '{}',          -- JSON object: what to do
    result       TEXT,                                -- JSON: what it did
    requested_by TEXT NOT NULL DEFAULT '',
    worker       TEXT,                                -- host:pid of the worker running it
    attempts     INTEGER NOT NULL DEFAULT 0,
    cancel       INTEGER NOT NULL DEFAULT 0 CHECK (cancel IN (0, 1)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    finished_at  TEXT
);
CREATE INDEX jobs_project ON jobs (project_id, created_at);
CREATE INDEX jobs_state ON jobs (state);

-- Bumped whenever an embedding job has made more of a project's records embedded, so that the
-- servers' in-memory vectors and rankings of the project refresh as the vectors land.
CREATE TABLE embedding_generations (
    project_id  INTEGER NOT NULL REFERENCES projects (project_id),
    model       TEXT NOT NULL,
    generation  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, model)
) WITHOUT ROWID;

-- Each record's study type (schema 4; classifier/studytype.py names the types): from its
-- export's metadata at import, else the text classifier, or a reviewer's correction. Only
-- non-duplicate records are typed. Derived data (a classifier pass may fill it again), so
-- a row is updated in place; a reviewer's correction is also written to the audit trail.
CREATE TABLE record_study_types (
    record_id   INTEGER PRIMARY KEY REFERENCES records (record_id) ON DELETE CASCADE,
    project_id  INTEGER NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    study_type  TEXT NOT NULL CHECK (study_type IN
                ('review', 'rct', 'quantitative', 'qualitative', 'guideline', 'other')),
    source      TEXT NOT NULL CHECK (source IN ('metadata', 'model', 'reviewer')),
    updated_by  TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL
);
CREATE INDEX record_study_types_project ON record_study_types (project_id, study_type);

-- Schema 4, theme discovery (branch discover). The records a theme accepted from discovery
-- suggests: suggestions, not labels (a reviewer confirms one by labelling the record), shown
-- like the theme model's; ``score`` is the record's cosine to the discovered theme's centre.
CREATE TABLE theme_suggestions (
    project_id  INTEGER NOT NULL REFERENCES projects (project_id),
    theme_id    INTEGER NOT NULL REFERENCES themes (theme_id) ON DELETE CASCADE,
    record_id   INTEGER NOT NULL REFERENCES records (record_id) ON DELETE CASCADE,
    score       REAL NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    PRIMARY KEY (theme_id, record_id)
) WITHOUT ROWID;
CREATE INDEX theme_suggestions_project ON theme_suggestions (project_id, record_id);

-- The records a maintainer selected as a theme's representative picks (the synthesis's
-- sources within the theme); unmarking deletes the row, and the audit trail keeps both.
CREATE TABLE theme_picks (
    project_id  INTEGER NOT NULL REFERENCES projects (project_id),
    theme_id    INTEGER NOT NULL REFERENCES themes (theme_id) ON DELETE CASCADE,
    record_id   INTEGER NOT NULL REFERENCES records (record_id) ON DELETE CASCADE,
    reason      TEXT NOT NULL DEFAULT '',
    picked_by   TEXT NOT NULL,
    picked_at   TEXT NOT NULL,
    PRIMARY KEY (theme_id, record_id)
) WITHOUT ROWID;
CREATE INDEX theme_picks_project ON theme_picks (project_id, theme_id);
