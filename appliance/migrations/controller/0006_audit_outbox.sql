-- The Manager's admin actions on their way to the organization's audit trail (issue 16 item 4,
-- docs/audit.md "The Manager"): kept here until the cloud has them, sent in the order of ``id`` (never
-- reused: AUTOINCREMENT), which the cloud receives as each event's ``seq``. ``cloud_system_id`` is
-- the system's id in the cloud when the action was made: an event is only ever sent there.
CREATE TABLE ctl_audit_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id TEXT NOT NULL REFERENCES ctl_systems(id) ON DELETE CASCADE,
    cloud_system_id TEXT NOT NULL,
    event TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX ctl_audit_outbox_system ON ctl_audit_outbox (system_id, id);
