-- The system controllers' own database (the on-prem Manager's disk, not the cloud's).
CREATE TABLE ctl_systems (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    admin_password_hash TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    connection TEXT NOT NULL DEFAULT '{}',
    device_ca_key_pem TEXT NOT NULL,
    device_ca_cert_pem TEXT NOT NULL,
    allow_troubleshooting INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE ctl_sessions (
    token_hash TEXT PRIMARY KEY,
    system_id TEXT NOT NULL REFERENCES ctl_systems(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    last_used_at REAL NOT NULL
);
CREATE TABLE ctl_keys (
    id TEXT PRIMARY KEY,
    system_id TEXT NOT NULL REFERENCES ctl_systems(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    private_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('generated', 'imported')),
    active INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL
);
CREATE TABLE ctl_wifi_networks (
    id TEXT PRIMARY KEY,
    system_id TEXT NOT NULL REFERENCES ctl_systems(id) ON DELETE CASCADE,
    ssid TEXT NOT NULL,
    password TEXT NOT NULL,
    UNIQUE (system_id, ssid)
);
CREATE TABLE ctl_profiles (
    id TEXT PRIMARY KEY,
    system_id TEXT NOT NULL REFERENCES ctl_systems(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    UNIQUE (system_id, name)
);
CREATE TABLE ctl_camera_users (
    id TEXT PRIMARY KEY,
    system_id TEXT NOT NULL REFERENCES ctl_systems(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    profile_id TEXT REFERENCES ctl_profiles(id),
    manager_network TEXT,
    assistant_network TEXT,
    UNIQUE (system_id, name)
);
CREATE TABLE ctl_docks (
    id TEXT PRIMARY KEY,
    system_id TEXT NOT NULL REFERENCES ctl_systems(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    bays INTEGER NOT NULL,
    UNIQUE (system_id, name)
);
CREATE TABLE ctl_cameras (
    serial TEXT PRIMARY KEY,
    system_id TEXT NOT NULL REFERENCES ctl_systems(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    imei TEXT,
    sim_pin TEXT,
    apn TEXT,
    camera_user_id TEXT REFERENCES ctl_camera_users(id),
    self_assign INTEGER NOT NULL DEFAULT 0,
    dock_id TEXT REFERENCES ctl_docks(id),
    bay INTEGER,
    docked_user_id TEXT,
    last_docked_at REAL,
    cert_serial TEXT,
    cert_not_after REAL,
    created_at REAL NOT NULL
);
