-- The audit trail (issue 16 item 4, docs/audit.md): every operator and admin action, one hash chain per
-- organization. ``entry`` is the entry's canonical JSON (RFC 8785) as hashed; the other columns repeat
-- what the filters of Live's Settings > Audit trail search. Rows are only ever inserted.
CREATE TABLE audit_log (
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    actor_email TEXT,
    action TEXT NOT NULL,
    camera_serial TEXT,
    camera_user_name TEXT,
    stream_id TEXT,
    entry TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX audit_log_at ON audit_log (org_id, at);
