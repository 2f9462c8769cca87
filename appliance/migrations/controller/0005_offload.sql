-- Issue 13: the controller's content destination and its buffer of docked cameras' recordings.
-- One content destination per system: the imported connection file, the connection ID made at
-- the first import (never changes), what the destination said (capabilities, categories), and
-- the state the Manager shows (status, the last error, a 507 alert).
CREATE TABLE ctl_cd_destinations (
    system_id TEXT PRIMARY KEY REFERENCES ctl_systems(id) ON DELETE CASCADE,
    connection_file TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    imported_at REAL NOT NULL,
    capabilities TEXT,
    capabilities_error TEXT,
    categories TEXT,
    categories_read_at REAL,
    system_id_stored INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    status_message TEXT,
    alert TEXT,
    alert_at REAL,
    settings TEXT NOT NULL DEFAULT '{}'
);
-- Every recording a dock moved to the controller. state: receiving (files arriving), buffered
-- (whole, waiting for the destination), transferring, complete (Status: Complete set, files
-- deleted), not_transferred (the destination answered 400: kept, downloadable).
CREATE TABLE ctl_recordings (
    id TEXT PRIMARY KEY,
    system_id TEXT NOT NULL REFERENCES ctl_systems(id) ON DELETE CASCADE,
    serial TEXT NOT NULL,
    manifest TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('receiving', 'buffered', 'transferring', 'complete', 'not_transferred')),
    received_at REAL NOT NULL,
    completed_at REAL,
    container TEXT,
    next_attempt_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX ctl_recordings_by_system ON ctl_recordings (system_id, state);
-- The objects the destination confirmed (2xx) for a recording: a restart resumes after them.
CREATE TABLE ctl_recording_objects (
    recording_id TEXT NOT NULL REFERENCES ctl_recordings(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    confirmed_at REAL NOT NULL,
    PRIMARY KEY (recording_id, name)
);
-- The per-recording transfer log: every request and its outcome.
CREATE TABLE ctl_transfer_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recording_id TEXT,
    system_id TEXT NOT NULL,
    at REAL NOT NULL,
    method TEXT NOT NULL,
    target TEXT NOT NULL,
    status INTEGER,
    outcome TEXT NOT NULL,
    message TEXT
);
CREATE INDEX ctl_transfer_log_by_recording ON ctl_transfer_log (recording_id, id);
-- Users/ and Devices/ objects as last stored (registration and rename).
CREATE TABLE ctl_cd_directory (
    system_id TEXT NOT NULL REFERENCES ctl_systems(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'device')),
    key TEXT NOT NULL,
    stored TEXT NOT NULL,
    PRIMARY KEY (system_id, kind, key)
);
-- Recording settings the dock hands to the cameras: clip length, the dock's transfer rate.
CREATE TABLE ctl_recording_settings (
    system_id TEXT PRIMARY KEY REFERENCES ctl_systems(id) ON DELETE CASCADE,
    settings TEXT NOT NULL
);
-- What the dock last read of each docked camera's storage and of its transfer to the controller.
CREATE TABLE ctl_camera_storage (
    serial TEXT NOT NULL,
    system_id TEXT NOT NULL REFERENCES ctl_systems(id) ON DELETE CASCADE,
    storage TEXT NOT NULL,
    reported_at REAL NOT NULL,
    PRIMARY KEY (system_id, serial)  -- a camera is (system, serial): issue 10
);
