-- Face search (1:N): the change log that keeps in-memory search mirrors in step with SQLite, and
-- the duplicates that enrolment de-duplication finds.
--
-- Every enrolment, re-enrolment and erasure appends a row to face_index_log in the same
-- transaction as the change itself, so a rolled-back change leaves no row, and every process that
-- mirrors the binary templates for fast scanning catches up by reading the rows after the last one
-- it applied. Rows hold ids only, never biometric data. Compaction logs a 'reload' row per model
-- and prunes the rows before them.
CREATE TABLE face_index_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id     TEXT NOT NULL,
    template_id  INTEGER NOT NULL,
    op           TEXT NOT NULL              -- add | del | reload (the model's tables were rebuilt)
);

-- Enrolment de-duplication: a new template that matches ANOTHER person's template at or above the
-- model's verification threshold. One row per (new template, matched template). Kept as a
-- supervision record (a possible impersonation or multi-card case) for bureau users (2005); it
-- holds ids and a score, no biometric data, and is not removed when a template is erased.
CREATE TABLE face_duplicates (
    duplicate_id       INTEGER PRIMARY KEY,
    model_id           TEXT NOT NULL,
    template_id        INTEGER NOT NULL,    -- the new enrolment's template (at the time)
    psn_no             TEXT NOT NULL,       -- the person being enrolled
    other_template_id  INTEGER NOT NULL,
    other_psn_no       TEXT NOT NULL,       -- the person whose template it matches
    other_institution_code TEXT,            -- who enrolled the matched template
    score              REAL NOT NULL,       -- cosine similarity
    threshold          REAL NOT NULL,       -- the operating point it was compared with
    institution_code   TEXT,                -- who enrolled the new template
    district_code      TEXT,                -- that institution's district (scope of district users)
    terminal_id        TEXT,
    msgid              TEXT NOT NULL,
    at                 TEXT NOT NULL
);
CREATE INDEX face_duplicates_district ON face_duplicates(district_code, duplicate_id);
CREATE INDEX face_duplicates_psn ON face_duplicates(psn_no);
CREATE INDEX face_duplicates_other_psn ON face_duplicates(other_psn_no);
