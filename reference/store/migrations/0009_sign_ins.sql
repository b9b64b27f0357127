-- Sign-in sessions (签到, national transaction 9001; 签退 9002): reference/services/sign_in.py.
--
-- A sign-in belongs to the sender that made it (an institution's or a terminal's signing account):
-- another sender's sign_no is answered like one that does not exist. `opter_no`, `mac` and `ip`
-- are the national 9001 input (the operator and the workstation that signed in), kept for audit.
-- A session is live until it is signed out (signed_out_at set); the sign_in_policy setting decides
-- whether transactions must carry a live sign_no in the envelope.
CREATE TABLE sign_ins (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,  -- the sign_no's sequence part
    sign_no       TEXT NOT NULL UNIQUE,               -- region (6) + yyyyMMddHHmmss (14) + seq (10)
    sender        TEXT NOT NULL REFERENCES principals(id),
    opter_no      TEXT NOT NULL,
    mac           TEXT NOT NULL,
    ip            TEXT NOT NULL,
    signed_in_at  TEXT NOT NULL,                      -- business time, ISO 8601 with the CST offset
    signed_out_at TEXT                                -- NULL while live
);
CREATE INDEX sign_ins_sender ON sign_ins(sender, sign_no);
