-- Data scope (GEN-1, GEN-5): which institutions may see which persons (reference/scope.py).
-- A person is linked to an institution by an event that leaves a record there; reads and actions
-- on a person by an institution or its terminals need a link. One row per (institution, person,
-- source), the first time that source linked them.
CREATE TABLE person_links (
    institution_code TEXT NOT NULL REFERENCES institutions(code),
    psn_no           TEXT NOT NULL REFERENCES persons(psn_no),
    source           TEXT NOT NULL,          -- registration | card_read | admission | settlement | enrolment
    first_at         TEXT NOT NULL,
    PRIMARY KEY (institution_code, psn_no, source)
) WITHOUT ROWID;
CREATE INDEX person_links_psn ON person_links(psn_no);

-- Links implied by what a database already holds.
INSERT OR IGNORE INTO person_links(institution_code, psn_no, source, first_at)
    SELECT institution_code, psn_no, 'admission', min(created_at) FROM inpatient_visits GROUP BY 1, 2;
INSERT OR IGNORE INTO person_links(institution_code, psn_no, source, first_at)
    SELECT institution_code, psn_no, 'settlement', min(created_at) FROM settlements GROUP BY 1, 2;
INSERT OR IGNORE INTO person_links(institution_code, psn_no, source, first_at)
    SELECT institution_code, psn_no, 'enrolment', min(created_at) FROM face_templates
    WHERE institution_code IS NOT NULL GROUP BY 1, 2;
INSERT OR IGNORE INTO person_links(institution_code, psn_no, source, first_at)
    SELECT i.code, p.psn_no, 'registration', p.created_at FROM persons p JOIN institutions i ON i.code = p.created_by;

-- A verification is made for a subject of a scene (an inpatient visit, later a dialysis or rehab
-- session, a purchase): what it was for, so that the scene and the settlement checks can ask for
-- "the passed verification of this subject" (reference/services/face.py).
ALTER TABLE face_verifications ADD COLUMN subject_type TEXT;
ALTER TABLE face_verifications ADD COLUMN subject_id TEXT;
UPDATE face_verifications SET subject_type='inpatient_visit', subject_id=mdtrt_id WHERE mdtrt_id IS NOT NULL;
