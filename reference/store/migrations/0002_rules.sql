-- Rule library releases, settlements checked by rules, decisions, appeals, leads (RULE-*).

ALTER TABLE institutions ADD COLUMN speciality TEXT NOT NULL DEFAULT 'general';

CREATE TABLE rule_releases (
    version        TEXT PRIMARY KEY,
    base_version   TEXT,
    effective_from TEXT NOT NULL,            -- date the release takes effect (business time)
    status         TEXT NOT NULL,            -- draft | published
    content        TEXT NOT NULL,            -- the whole rule set, JSON
    changes        TEXT,                     -- the patch over base_version, JSON
    notes          TEXT,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    published_at   TEXT
);

-- Settlements submitted for in-event review (事中审核); history for post-event rules.
CREATE TABLE settlements (
    institution_code TEXT NOT NULL REFERENCES institutions(code),
    setl_id          TEXT NOT NULL,
    psn_no           TEXT NOT NULL REFERENCES persons(psn_no),
    mdtrt_id         TEXT,
    scene            TEXT NOT NULL,
    setl_time        TEXT NOT NULL,
    method           TEXT NOT NULL,          -- face | ssc | idcard | evoucher
    total_amount     REAL NOT NULL,
    items            TEXT NOT NULL,          -- JSON list with knowledge-base categories
    categories       TEXT NOT NULL,          -- JSON list of categories present
    status           TEXT NOT NULL,          -- accepted | refused | suspended
    release_version  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (institution_code, setl_id)
);
CREATE INDEX settlements_psn ON settlements(psn_no, setl_time);
CREATE INDEX settlements_time ON settlements(setl_time);

-- Every rule evaluation at the pre- and in-event stages, and every post-event hit.
CREATE TABLE decisions (
    decision_id      INTEGER PRIMARY KEY,
    rule_id          TEXT NOT NULL,
    release_version  TEXT NOT NULL,
    params           TEXT NOT NULL,          -- JSON: the parameter values used
    stage            TEXT NOT NULL,
    scene            TEXT NOT NULL,
    subject_type     TEXT NOT NULL,          -- settlement | institution | person
    subject_id       TEXT NOT NULL,
    institution_code TEXT,
    psn_no           TEXT,
    setl_id          TEXT,
    facts            TEXT NOT NULL,          -- JSON: what the evaluator saw (for replay)
    hit              INTEGER NOT NULL,
    outcome          TEXT NOT NULL,          -- pass | remind | refuse | suspicion
    message          TEXT,
    amount           REAL,
    at               TEXT NOT NULL,
    period           TEXT                    -- post-event: the analysed period
);
CREATE INDEX decisions_rule ON decisions(rule_id, at);
CREATE INDEX decisions_setl ON decisions(institution_code, setl_id);

CREATE TABLE appeals (
    appeal_id        INTEGER PRIMARY KEY,
    institution_code TEXT NOT NULL,
    setl_id          TEXT NOT NULL,
    reason           TEXT NOT NULL,
    evidence         TEXT NOT NULL,          -- JSON list of references
    status           TEXT NOT NULL,          -- submitted | upheld | overturned
    submitted_by     TEXT NOT NULL,
    submitted_at     TEXT NOT NULL,
    reviewed_by      TEXT,
    reviewed_at      TEXT,
    review_note      TEXT,
    UNIQUE (institution_code, setl_id)
);

CREATE TABLE leads (
    lead_id          INTEGER PRIMARY KEY,
    dedupe_key       TEXT NOT NULL UNIQUE,    -- rule + subject (+ period): reruns never duplicate
    rule_id          TEXT NOT NULL,
    release_version  TEXT NOT NULL,
    decision_id      INTEGER REFERENCES decisions(decision_id),
    scene            TEXT NOT NULL,
    subject_type     TEXT NOT NULL,
    subject_id       TEXT NOT NULL,
    institution_code TEXT,
    district_code    TEXT,
    psn_no           TEXT,
    severity         TEXT NOT NULL,
    risk_score       REAL NOT NULL,
    amount           REAL,
    summary          TEXT NOT NULL,
    evidence         TEXT NOT NULL,           -- JSON list of {kind, id}
    status           TEXT NOT NULL,
    planned_month    TEXT,
    amount_recovered REAL,
    audit_note       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX leads_status ON leads(status, risk_score);
CREATE INDEX leads_rule ON leads(rule_id, created_at);

CREATE TABLE lead_events (
    id          INTEGER PRIMARY KEY,
    lead_id     INTEGER NOT NULL REFERENCES leads(lead_id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    by          TEXT NOT NULL,
    role        TEXT NOT NULL,
    at          TEXT NOT NULL,
    note        TEXT
);
CREATE INDEX lead_events_lead ON lead_events(lead_id);
