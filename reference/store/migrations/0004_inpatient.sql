-- Inpatient scene (INP-*): visits with consent, admission capture and discharge registration,
-- day ends and their per-patient-day results, remote bed checks; and the special-registration
-- workflow with attachments, shared by the inpatient, hemodialysis and rehab scenes (`scene`).

CREATE TABLE inpatient_visits (
    institution_code   TEXT NOT NULL REFERENCES institutions(code),
    mdtrt_id           TEXT NOT NULL,              -- visit id (就诊ID)
    psn_no             TEXT NOT NULL REFERENCES persons(psn_no),
    dept_code          TEXT NOT NULL,
    dept_name          TEXT NOT NULL,
    ward               TEXT,
    bed_no             TEXT NOT NULL,
    dept_equipped      INTEGER NOT NULL,           -- the department has monitoring equipment
    adm_time           TEXT NOT NULL,
    consent_face       INTEGER NOT NULL,           -- GEN-4: consent recorded with the admission
    consent_video      INTEGER NOT NULL,
    consent_signed_at  TEXT NOT NULL,
    consent_doc_no     TEXT,
    enrolled_at        TEXT,                       -- identity + face captured on a terminal (INP-1)
    enrol_terminal_id  TEXT,
    enrol_template_id  INTEGER,
    enrolled_late      INTEGER,
    dscg_time          TEXT,                       -- discharge uploaded by the HIS
    dscg_registered_at TEXT,                       -- discharge registration on a terminal (INP-2)
    dscg_verification_id INTEGER,
    status             TEXT NOT NULL,              -- in_hospital | discharged
    created_by         TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (institution_code, mdtrt_id)
);
CREATE INDEX inpatient_visits_psn ON inpatient_visits(psn_no);
CREATE INDEX inpatient_visits_status ON inpatient_visits(institution_code, status);

-- A day end (日终) closes one institution's business day; findings for that day are final then.
CREATE TABLE inpatient_day_closures (
    institution_code TEXT NOT NULL REFERENCES institutions(code),
    day              TEXT NOT NULL,
    closed_at        TEXT NOT NULL,
    closed_by        TEXT NOT NULL,
    PRIMARY KEY (institution_code, day)
) WITHOUT ROWID;

-- The outcome of each due patient-day at its day end: exactly one status per patient-day.
CREATE TABLE inpatient_patient_days (
    institution_code TEXT NOT NULL,
    mdtrt_id         TEXT NOT NULL,
    day              TEXT NOT NULL,
    psn_no           TEXT NOT NULL,
    status           TEXT NOT NULL,                -- compliant | excused | finding
    passed_checks    INTEGER NOT NULL,
    reg_id           INTEGER,
    lead_id          INTEGER,
    PRIMARY KEY (institution_code, mdtrt_id, day)
) WITHOUT ROWID;

-- Remote bed checks (远程查床).
CREATE TABLE bed_check_tasks (
    task_id          INTEGER PRIMARY KEY,
    institution_code TEXT NOT NULL REFERENCES institutions(code),
    selection        TEXT NOT NULL,                -- patients | ward | all
    ward             TEXT,
    note             TEXT,
    deadline         TEXT NOT NULL,
    issued_by        TEXT NOT NULL,
    issued_at        TEXT NOT NULL
);
CREATE INDEX bed_check_tasks_inst ON bed_check_tasks(institution_code, deadline);

CREATE TABLE bed_check_items (
    task_id          INTEGER NOT NULL REFERENCES bed_check_tasks(task_id),
    mdtrt_id         TEXT NOT NULL,
    psn_no           TEXT NOT NULL,
    bed_no           TEXT NOT NULL,
    status           TEXT NOT NULL,                -- pending | passed | special_registered
    attempts         INTEGER NOT NULL DEFAULT 0,
    verification_id  INTEGER,
    done_at          TEXT,
    reg_id           INTEGER,
    PRIMARY KEY (task_id, mdtrt_id)
) WITHOUT ROWID;

-- Attachments (附件): content kept with its SHA-256; limits in settings.
CREATE TABLE attachments (
    attachment_id    INTEGER PRIMARY KEY,
    institution_code TEXT NOT NULL REFERENCES institutions(code),
    att_type         TEXT NOT NULL,                -- code table attachment_type
    filename         TEXT NOT NULL,
    media_type       TEXT NOT NULL,
    size_bytes       INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    content          BLOB NOT NULL,
    uploaded_by      TEXT NOT NULL,
    uploaded_at      TEXT NOT NULL
);
CREATE INDEX attachments_inst ON attachments(institution_code, sha256);

-- Special registration (特殊登记), generic over scenes.
CREATE TABLE special_registrations (
    reg_id           INTEGER PRIMARY KEY,
    scene            TEXT NOT NULL,                -- code table scene
    institution_code TEXT NOT NULL REFERENCES institutions(code),
    psn_no           TEXT NOT NULL,
    mdtrt_id         TEXT,
    subject_type     TEXT NOT NULL,                -- patient_day | bed_check_item | (dialysis/rehab: session)
    subject_id       TEXT NOT NULL,
    day              TEXT NOT NULL,                -- the business day it covers
    reason           TEXT NOT NULL,                -- code table special_registration_reason
    explanation      TEXT NOT NULL,
    status           TEXT NOT NULL,                -- code table special_registration_status
    review_due       TEXT NOT NULL,                -- last day of the first review
    supplement_due   TEXT,                         -- last day to supplement, after a first rejection
    review2_due      TEXT,                         -- last day of the second review, after a supplement
    submitted_by     TEXT NOT NULL,
    submitted_at     TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (scene, institution_code, subject_type, subject_id)
);
CREATE INDEX special_registrations_status ON special_registrations(scene, status);
CREATE INDEX special_registrations_inst ON special_registrations(institution_code, day);

CREATE TABLE special_registration_attachments (
    reg_id        INTEGER NOT NULL REFERENCES special_registrations(reg_id),
    attachment_id INTEGER NOT NULL REFERENCES attachments(attachment_id),
    stage         TEXT NOT NULL,                   -- submitted | supplemented
    PRIMARY KEY (reg_id, attachment_id)
) WITHOUT ROWID;

-- Every state change of a registration, with who, which role and when (the audit trail).
CREATE TABLE special_registration_events (
    id          INTEGER PRIMARY KEY,
    reg_id      INTEGER NOT NULL REFERENCES special_registrations(reg_id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    by          TEXT NOT NULL,
    role        TEXT NOT NULL,
    at          TEXT NOT NULL,
    note        TEXT
);
CREATE INDEX special_registration_events_reg ON special_registration_events(reg_id);
