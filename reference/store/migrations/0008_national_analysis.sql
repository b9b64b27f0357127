-- National-shape pre-/in-event analysis (3101 / 3102) and the institution's feedback (3103).
--
-- 1. Every violation (jr_id) a 3101 or 3102 answer named: one per rule hit, pointing at the
--    decision the rule engine recorded (so 8722 replays it). warn_type is the national feedback
--    type the hit is answered with: 1 pre-event (3101), 2 in-event (3102).
CREATE TABLE national_warnings (
    jr_id            TEXT PRIMARY KEY,              -- JR + the decision id
    decision_id      INTEGER NOT NULL UNIQUE REFERENCES decisions(decision_id),
    institution_code TEXT NOT NULL REFERENCES institutions(code),
    warn_type        TEXT NOT NULL,                 -- 1 pre-event | 2 in-event
    rule_id          TEXT NOT NULL,
    patn_id          TEXT NOT NULL,                 -- the person (psn_no)
    mdtrt_id         TEXT NOT NULL,
    task_id          TEXT,
    created_at       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX national_warnings_rule ON national_warnings(rule_id, created_at);

-- 2. The institution's answer to a jr_id (3103): one row per jr_id, a later answer replaces the
--    earlier one (so a re-sent answer never counts twice). dspo_way 1: continued despite the
--    warning (dspo_way_rea says why); 2: went back and changed the order.
CREATE TABLE national_feedback (
    jr_id            TEXT PRIMARY KEY REFERENCES national_warnings(jr_id),
    dspo_way         TEXT NOT NULL,                 -- 1 continue | 2 change
    dspo_way_rea     TEXT,
    answered_by      TEXT NOT NULL,
    answered_at      TEXT NOT NULL,
    answers          INTEGER NOT NULL DEFAULT 1     -- how many 3103 answers named it
) WITHOUT ROWID;
