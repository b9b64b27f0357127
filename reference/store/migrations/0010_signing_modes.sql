-- Per-sender signing modes (reference/signing.py, the signing page).
--
-- Every sender signs with scenemon's HMAC over the body (X-SM-* headers). A city bureau may switch an
-- institution or a terminal to the national gateway's x-tif headers as well (8016), for a vendor whose
-- adapter already speaks them: the body is then not signed, so the mode is off unless switched on, and
-- who switched it and when is kept. The x-tif token is the sender's secret; X-SM-* keeps working.
ALTER TABLE principals ADD COLUMN x_tif_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE principals ADD COLUMN x_tif_changed_at TEXT;   -- business time of the last 8016
ALTER TABLE principals ADD COLUMN x_tif_changed_by TEXT;   -- the bureau account that sent it
