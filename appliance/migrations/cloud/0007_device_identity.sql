-- Device identity is (system, serial) (issue 10): two systems may each have a camera with the
-- same serial, and neither may see or disturb the other's. The S3 authorization code is issued
-- by the cloud, bound to the controller (its device CA key) and the account that asked for it,
-- single-use and expiring.
CREATE TABLE authorization_codes (
    code_hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    device_ca_fingerprint TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL,
    cloud_system_id TEXT
);
CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);
-- One device CA key, one system (the SHA-256 of its public key; NULL for systems connected before).
ALTER TABLE cloud_systems ADD COLUMN device_ca_fingerprint TEXT;
CREATE UNIQUE INDEX cloud_systems_device_ca ON cloud_systems (device_ca_fingerprint);
-- The cameras registered in each system, as its controller last told the cloud: the hub accepts a
-- certificate only for a camera registered in the system whose device CA signed it.
CREATE TABLE system_cameras (
    cloud_system_id TEXT NOT NULL REFERENCES cloud_systems(id) ON DELETE CASCADE,
    serial TEXT NOT NULL,
    model TEXT NOT NULL,
    PRIMARY KEY (cloud_system_id, serial)
);
INSERT OR IGNORE INTO system_cameras (cloud_system_id, serial, model)
    SELECT u.cloud_system_id, json_extract(j.value, '$.serial'), json_extract(j.value, '$.model')
    FROM system_camera_users u, json_each(u.cameras) j;
CREATE TABLE device_state_by_system (
    cloud_system_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}',
    online INTEGER NOT NULL DEFAULT 0,
    cert_not_after REAL,
    last_seen_at REAL NOT NULL,
    last_refusal TEXT,
    PRIMARY KEY (cloud_system_id, serial)
);
INSERT INTO device_state_by_system (cloud_system_id, serial, state, online, cert_not_after, last_seen_at, last_refusal)
    SELECT cloud_system_id, serial, state, online, cert_not_after, last_seen_at, last_refusal FROM device_state;
DROP TABLE device_state;
ALTER TABLE device_state_by_system RENAME TO device_state;
ALTER TABLE device_events ADD COLUMN cloud_system_id TEXT;
-- Licence periods belong to a (system, serial), so one system's list never closes another's.
ALTER TABLE licence_periods ADD COLUMN cloud_system_id TEXT NOT NULL DEFAULT '';
UPDATE licence_periods SET cloud_system_id = COALESCE((
    SELECT c.cloud_system_id FROM system_cameras c JOIN cloud_systems s ON s.id = c.cloud_system_id
    WHERE c.serial = licence_periods.serial AND s.org_id = licence_periods.org_id LIMIT 1), '');
CREATE INDEX licence_periods_device ON licence_periods (cloud_system_id, serial, ended_at);
