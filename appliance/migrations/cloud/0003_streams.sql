-- Streams and their evidence (D3–D8, S17): metadata in clear, media and positions sealed.
CREATE TABLE streams (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    cloud_system_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    request_id TEXT,
    region TEXT NOT NULL,
    mime TEXT NOT NULL,
    wrapped_key TEXT NOT NULL,
    upload_key TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    end_reason TEXT,
    last_seq INTEGER,
    acknowledged_by TEXT,
    acknowledged_at REAL,
    created_lab_at REAL NOT NULL
);
CREATE INDEX streams_org ON streams (org_id, started_at);
CREATE TABLE chunks (
    stream_id TEXT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    capture_time REAL NOT NULL,
    duration REAL NOT NULL,
    keyframe INTEGER NOT NULL,
    size INTEGER NOT NULL,
    digest TEXT NOT NULL,
    stored_at REAL NOT NULL,
    PRIMARY KEY (stream_id, seq)
);
CREATE TABLE remote_starts (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    serial TEXT,
    operator TEXT NOT NULL,
    requested_at REAL NOT NULL,
    ok INTEGER,
    reason TEXT
);
