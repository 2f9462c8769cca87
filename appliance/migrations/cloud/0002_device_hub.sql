-- The device hub's view of each camera: its last reported state and connection (status, L3).
CREATE TABLE device_state (
    serial TEXT PRIMARY KEY,
    cloud_system_id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}',
    online INTEGER NOT NULL DEFAULT 0,
    cert_not_after REAL,
    last_seen_at REAL NOT NULL,
    last_refusal TEXT
);
-- Every refusal the hub makes, so that the UI and diagnosis can say why (D1, T2).
CREATE TABLE device_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    serial TEXT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
