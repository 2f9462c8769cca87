-- Stored rows that cannot be used (a value no check would accept now, written before the check
-- existed or by a damaged file) are moved here at start-up instead of stopping the appliance
-- (issue 10): the row as JSON, why, and when; their evidence is removed after the 24 h retention.
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    row_key TEXT NOT NULL,
    row_json TEXT NOT NULL,
    reason TEXT NOT NULL,
    quarantined_at REAL NOT NULL
);
CREATE INDEX quarantine_source ON quarantine (source, quarantined_at);
