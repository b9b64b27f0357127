-- Day ends for every scene (reference/services/day_end.py, issue 11 seam 3).
--
-- 1. One table of closures per (scene, institution, day), replacing inpatient_day_closures: a
--    day end closes a scene's business day for an institution once; its results are final then.
CREATE TABLE day_closures (
    scene            TEXT NOT NULL,                 -- code table scene
    institution_code TEXT NOT NULL REFERENCES institutions(code),
    day              TEXT NOT NULL,
    closed_at        TEXT NOT NULL,
    closed_by        TEXT NOT NULL,
    PRIMARY KEY (scene, institution_code, day)
);
CREATE INDEX day_closures_day ON day_closures(scene, day, institution_code);
INSERT INTO day_closures(scene, institution_code, day, closed_at, closed_by)
    SELECT 'inpatient', institution_code, day, closed_at, closed_by FROM inpatient_day_closures;
DROP TABLE inpatient_day_closures;

-- 2. Fact versions: a day end scans on a read snapshot before its write transaction; the write
--    phase compares a fingerprint of the facts to see whether anything it read changed meanwhile
--    (then it scans again inside the write transaction). Tables whose rows are updated count
--    their writes here (a trigger per statement kind); append-only logs (face_verifications,
--    leads, special_registration_events) are fingerprinted by their largest rowid instead, so the
--    face-verification path pays nothing. A later scene adds its own tables' triggers.
CREATE TABLE fact_versions (
    name    TEXT PRIMARY KEY,                       -- a table name
    version INTEGER NOT NULL                        -- writes to it so far
) WITHOUT ROWID;
INSERT INTO fact_versions(name, version) VALUES ('day_closures', 0);
INSERT INTO fact_versions(name, version) VALUES ('institutions', 0);
INSERT INTO fact_versions(name, version) VALUES ('institution_scenes', 0);
INSERT INTO fact_versions(name, version) VALUES ('rule_releases', 0);
INSERT INTO fact_versions(name, version) VALUES ('inpatient_visits', 0);
INSERT INTO fact_versions(name, version) VALUES ('special_registrations', 0);
INSERT INTO fact_versions(name, version) VALUES ('bed_check_tasks', 0);
INSERT INTO fact_versions(name, version) VALUES ('bed_check_items', 0);
CREATE TRIGGER day_closures_v_insert AFTER INSERT ON day_closures BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'day_closures';
END;
CREATE TRIGGER day_closures_v_update AFTER UPDATE ON day_closures BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'day_closures';
END;
CREATE TRIGGER day_closures_v_delete AFTER DELETE ON day_closures BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'day_closures';
END;
CREATE TRIGGER institutions_v_insert AFTER INSERT ON institutions BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'institutions';
END;
CREATE TRIGGER institutions_v_update AFTER UPDATE ON institutions BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'institutions';
END;
CREATE TRIGGER institutions_v_delete AFTER DELETE ON institutions BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'institutions';
END;
CREATE TRIGGER institution_scenes_v_insert AFTER INSERT ON institution_scenes BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'institution_scenes';
END;
CREATE TRIGGER institution_scenes_v_update AFTER UPDATE ON institution_scenes BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'institution_scenes';
END;
CREATE TRIGGER institution_scenes_v_delete AFTER DELETE ON institution_scenes BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'institution_scenes';
END;
CREATE TRIGGER rule_releases_v_insert AFTER INSERT ON rule_releases BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'rule_releases';
END;
CREATE TRIGGER rule_releases_v_update AFTER UPDATE ON rule_releases BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'rule_releases';
END;
CREATE TRIGGER rule_releases_v_delete AFTER DELETE ON rule_releases BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'rule_releases';
END;
CREATE TRIGGER inpatient_visits_v_insert AFTER INSERT ON inpatient_visits BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'inpatient_visits';
END;
CREATE TRIGGER inpatient_visits_v_update AFTER UPDATE ON inpatient_visits BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'inpatient_visits';
END;
CREATE TRIGGER inpatient_visits_v_delete AFTER DELETE ON inpatient_visits BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'inpatient_visits';
END;
CREATE TRIGGER special_registrations_v_insert AFTER INSERT ON special_registrations BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'special_registrations';
END;
CREATE TRIGGER special_registrations_v_update AFTER UPDATE ON special_registrations BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'special_registrations';
END;
CREATE TRIGGER special_registrations_v_delete AFTER DELETE ON special_registrations BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'special_registrations';
END;
CREATE TRIGGER bed_check_tasks_v_insert AFTER INSERT ON bed_check_tasks BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'bed_check_tasks';
END;
CREATE TRIGGER bed_check_tasks_v_update AFTER UPDATE ON bed_check_tasks BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'bed_check_tasks';
END;
CREATE TRIGGER bed_check_tasks_v_delete AFTER DELETE ON bed_check_tasks BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'bed_check_tasks';
END;
CREATE TRIGGER bed_check_items_v_insert AFTER INSERT ON bed_check_items BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'bed_check_items';
END;
CREATE TRIGGER bed_check_items_v_update AFTER UPDATE ON bed_check_items BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'bed_check_items';
END;
CREATE TRIGGER bed_check_items_v_delete AFTER DELETE ON bed_check_items BEGIN
    UPDATE fact_versions SET version = version + 1 WHERE name = 'bed_check_items';
END;

-- 3. "Has this subject a lead of this rule?" is asked for every subject a day-end rule scans.
CREATE INDEX leads_subject ON leads(rule_id, subject_id);

-- 4. Post-event rules declare when they run (runs_at, reference/rules/library.py); releases stored
--    before that declaration existed get the one the shipped library gives them (the inpatient
--    day-end rules run at the day end, every other post-event rule with the batch run), which is
--    how they ran: the declaration changes no decision.
UPDATE rule_releases SET content = json_patch(content, json_object('rules', json((
    SELECT json_group_object(r.key, json_object('runs_at',
        CASE WHEN r.key IN ('INP-DAILY-FACE-CHECK', 'INP-DISCHARGE-SAME-DAY', 'INP-ENROL-24H',
                            'INP-REMOTE-CHECK-EXPIRED', 'INP-SR-REVIEW-OVERDUE', 'INP-SR-VIOLATION')
             THEN 'day_end' ELSE 'period' END))
    FROM json_each(rule_releases.content, '$.rules') AS r
    WHERE json_extract(r.value, '$.stages.post_event') IS NOT NULL
      AND json_extract(r.value, '$.runs_at') IS NULL))));
