-- Foundation schema: registry, security, idempotency, access log, face templates.
-- Times are ISO-8601 text in CST (UTC+8); dates are yyyy-mm-dd.

CREATE TABLE districts (
    code         TEXT PRIMARY KEY,           -- 6-digit administrative division code
    name         TEXT NOT NULL,
    region_code  TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE institutions (
    code           TEXT PRIMARY KEY,         -- fixmedins_code
    name           TEXT NOT NULL,
    inst_type      TEXT NOT NULL,            -- code table institution_type
    level          TEXT NOT NULL,            -- code table institution_level
    district_code  TEXT NOT NULL REFERENCES districts(code),
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL
);

CREATE TABLE institution_scenes (
    institution_code TEXT NOT NULL REFERENCES institutions(code),
    scene            TEXT NOT NULL,          -- code table scene
    enabled          INTEGER NOT NULL,
    since            TEXT NOT NULL,          -- date from which the scene is monitored
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (institution_code, scene)
);

-- Every sender that signs requests: institutions, terminals, bureau users, operations vendors.
CREATE TABLE principals (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,           -- institution | terminal | user
    role             TEXT NOT NULL,           -- code table role
    secret           TEXT NOT NULL,           -- never logged, never returned after issue
    institution_code TEXT REFERENCES institutions(code),
    district_code    TEXT REFERENCES districts(code),
    display_name     TEXT NOT NULL,
    active           INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL
);

CREATE TABLE terminals (
    terminal_id        TEXT PRIMARY KEY REFERENCES principals(id),
    institution_code   TEXT NOT NULL REFERENCES institutions(code),
    model              TEXT NOT NULL,
    serial_no          TEXT NOT NULL,
    cert_class         TEXT NOT NULL,         -- 'III' required (GEN-6)
    cert_spec          TEXT NOT NULL,         -- e.g. NHSA terminal spec V2.1
    certification_id   TEXT NOT NULL,
    location           TEXT,
    status             TEXT NOT NULL,         -- code table terminal_status
    registered_at      TEXT NOT NULL,
    certified_at       TEXT,
    certified_by       TEXT,
    status_reason      TEXT,
    last_heartbeat_at  TEXT,
    last_heartbeat     TEXT                   -- JSON of the last heartbeat's state
);
CREATE UNIQUE INDEX terminals_serial ON terminals(model, serial_no);

CREATE TABLE fault_tickets (
    ticket_id        INTEGER PRIMARY KEY,
    terminal_id      TEXT NOT NULL REFERENCES terminals(terminal_id),
    institution_code TEXT NOT NULL REFERENCES institutions(code),
    device_kind      TEXT NOT NULL,           -- code table device_kind: terminal | camera
    description      TEXT NOT NULL,
    occurred_at      TEXT NOT NULL,
    reported_at      TEXT NOT NULL,
    reported_by      TEXT NOT NULL,
    reported_late    INTEGER NOT NULL,        -- reported more than the allowed hours after occurring
    status           TEXT NOT NULL,           -- open | resolved
    resolved_at      TEXT,
    resolved_by      TEXT,
    resolution       TEXT,
    resolution_hours REAL
);
CREATE INDEX fault_tickets_inst ON fault_tickets(institution_code, status);

CREATE TABLE persons (
    psn_no          TEXT PRIMARY KEY,        -- person number (人员编号)
    certno          TEXT NOT NULL UNIQUE,    -- resident ID number, GB 11643 check digit valid
    psn_name        TEXT NOT NULL,
    gend            TEXT NOT NULL,           -- 1 male, 2 female (from certno)
    brdy            TEXT NOT NULL,           -- birth date (from certno)
    insuplc_admdvs  TEXT NOT NULL,
    flags           TEXT NOT NULL DEFAULT '[]', -- JSON list of code table person_flag
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- Idempotency: the answer given to each (sender, msgid).
CREATE TABLE messages (
    sender       TEXT NOT NULL,
    msgid        TEXT NOT NULL,
    infno        TEXT NOT NULL,
    body_sha256  TEXT NOT NULL,
    http_status  INTEGER NOT NULL,
    response     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (sender, msgid)
) WITHOUT ROWID;

CREATE TABLE nonces (
    sender   TEXT NOT NULL,
    nonce    TEXT NOT NULL,
    seen_at  INTEGER NOT NULL,               -- unix seconds (transport time, not business time)
    PRIMARY KEY (sender, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_seen ON nonces(seen_at);

-- GEN-5: who read or changed whose personal data, and when.
CREATE TABLE access_log (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    principal_id  TEXT NOT NULL,
    role          TEXT NOT NULL,
    infno         TEXT NOT NULL,
    msgid         TEXT NOT NULL,
    psn_no        TEXT NOT NULL,
    action        TEXT NOT NULL              -- read | write
);
CREATE INDEX access_log_psn ON access_log(psn_no, at);

-- Face templates; the vectors live in one sqlite-vec table per model (face_models.vec_table).
CREATE TABLE face_models (
    model_id    TEXT PRIMARY KEY,
    dim         INTEGER NOT NULL,
    vec_table   TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE face_templates (
    template_id      INTEGER PRIMARY KEY,
    psn_no           TEXT NOT NULL REFERENCES persons(psn_no),
    model_id         TEXT NOT NULL REFERENCES face_models(model_id),
    source           TEXT NOT NULL,          -- image | embedding
    institution_code TEXT,
    terminal_id      TEXT,
    quality          REAL,
    liveness_passed  INTEGER,
    created_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX face_templates_one_per_model ON face_templates(psn_no, model_id);

CREATE TABLE face_verifications (
    verification_id  INTEGER PRIMARY KEY,
    psn_no           TEXT NOT NULL,
    model_id         TEXT NOT NULL,
    template_id      INTEGER,
    score            REAL,
    threshold        REAL NOT NULL,
    matched          INTEGER NOT NULL,       -- score >= threshold
    liveness_passed  INTEGER,
    liveness_score   REAL,
    quality          REAL,
    passed           INTEGER NOT NULL,       -- matched and liveness not failed
    scene            TEXT NOT NULL,
    mdtrt_id         TEXT,
    institution_code TEXT,
    terminal_id      TEXT,
    msgid            TEXT NOT NULL,
    at               TEXT NOT NULL
);
CREATE INDEX face_verifications_psn ON face_verifications(psn_no, at);
CREATE INDEX face_verifications_inst ON face_verifications(institution_code, at);
