-- SOC integrations (S12): several per organization, each with its URL, optional Standard Webhooks
-- signing secret (whsec_…) and the events it receives (stream.started always).
CREATE TABLE soc_integrations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL,
    secret TEXT,
    events TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_by TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX soc_integrations_org ON soc_integrations (org_id);
-- The durable outbox: one row per (integration, event); the body is fixed when the event is
-- enqueued and sent unchanged on every attempt.
CREATE TABLE soc_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id TEXT NOT NULL REFERENCES soc_integrations(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    finished_at REAL,
    UNIQUE (integration_id, event_id)
);
CREATE INDEX soc_outbox_due ON soc_outbox (state, next_attempt_at);
-- The delivery log admins read: every attempt with its outcome.
CREATE TABLE soc_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id INTEGER NOT NULL REFERENCES soc_outbox(id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at REAL NOT NULL,
    status INTEGER,
    ok INTEGER NOT NULL,
    error TEXT,
    duration_ms REAL,
    next_attempt_at REAL
);
CREATE INDEX soc_deliveries_integration ON soc_deliveries (integration_id, id);
-- Licence usage (S15): when each camera was in service for a camera user, and whether that
-- user's profile had streaming on, as the cameras report it to the device hub.
CREATE TABLE licence_periods (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    user_id TEXT,
    streaming INTEGER NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL
);
CREATE INDEX licence_periods_org ON licence_periods (org_id, started_at);
CREATE INDEX licence_periods_open ON licence_periods (serial, ended_at);
