-- The cloud's database. Cloud: accounts, sessions (D2), organizations (S2, S13), memberships and roles (S14),
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

CREATE TABLE lab_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
