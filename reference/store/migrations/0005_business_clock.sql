-- The manual business clock (业务时钟, `clock=manual`): its current time, so that a restarted test
-- or simulator server resumes where it stopped instead of jumping back to `clock_start` and then
-- refusing to move forward. One row, written by transaction 9001 inside 9001's own write
-- transaction (a refused or rolled-back 9001 never moves it) and at start-up; see
-- reference/services/business_clock.py. A server on the real-time clock never reads it.

CREATE TABLE business_clock (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    business_time TEXT NOT NULL      -- ISO 8601 with the CST offset, e.g. 2026-03-02T08:00:00+08:00
);
