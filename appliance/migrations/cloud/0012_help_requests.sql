-- Help requests (issue 16 item 2): a camera user's call for help. Metadata in clear; the position
-- only sealed end to end (its content key wrapped for the system key), which the cloud cannot open.
CREATE TABLE help_requests (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    cloud_system_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    region TEXT NOT NULL,
    gesture TEXT NOT NULL,
    requested_at REAL NOT NULL,
    wrapped_key TEXT,
    position TEXT,
    created_lab_at REAL NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at REAL);
CREATE INDEX help_requests_org ON help_requests (org_id, created_lab_at);
