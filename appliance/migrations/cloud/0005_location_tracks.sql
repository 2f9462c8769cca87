-- Location tracks (S11, S17, D9): positions of cameras reporting while not streaming, sealed
-- end to end like media; metadata in clear, every position a sealed evidence file, kept 24 h.
CREATE TABLE location_tracks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    cloud_system_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    mode TEXT NOT NULL,
    region TEXT NOT NULL,
    wrapped_key TEXT NOT NULL,
    upload_key TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    end_reason TEXT,
    last_seq INTEGER,
    created_lab_at REAL NOT NULL);
CREATE INDEX location_tracks_org ON location_tracks (org_id, started_at);
CREATE TABLE track_chunks (
    track_id TEXT NOT NULL REFERENCES location_tracks(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    capture_time REAL NOT NULL,
    size INTEGER NOT NULL,
    digest TEXT NOT NULL,
    stored_at REAL NOT NULL,
    PRIMARY KEY (track_id, seq));
CREATE INDEX track_chunks_stored ON track_chunks (stored_at);
