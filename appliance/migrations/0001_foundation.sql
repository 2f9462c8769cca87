-- Cloud: accounts, sessions (D2), organizations (S2, S13), memberships and roles (S14),
-- invitations (S10), connected systems (S3), licences (S3, S15).
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    org_id TEXT,
    created_at REAL NOT NULL,
    last_used_at REAL NOT NULL
);
CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner_account_id TEXT NOT NULL REFERENCES accounts(id),
    storage_region TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE memberships (
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'operator', 'admin')),
    PRIMARY KEY (org_id, account_id)
);
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'operator', 'admin')),
    invited_by TEXT NOT NULL REFERENCES accounts(id),
    created_at REAL NOT NULL,
    accepted_at REAL,
    UNIQUE (org_id, email)
);
CREATE TABLE cloud_systems (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    device_ca_pem TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    region TEXT NOT NULL,
    connected_at REAL NOT NULL
);
CREATE TABLE licences (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('trial', 'subscription')),
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL
);

-- Controller (the Manager's state, one row per emulated system controller).
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
CREATE TABLE lab_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
