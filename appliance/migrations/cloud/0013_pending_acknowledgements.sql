-- Acknowledgements owed to cameras (D6, issue 16 item 2): an operator acknowledged a stream or a help
-- request while the camera was not connected. The device hub keeps each one here until it reaches the
-- camera on its next connection, or has become meaningless (appliance/hub/acknowledgements.py). One per
-- camera and subject: a second acknowledgement of the same stream replaces the first (one vibration).
CREATE TABLE device_pending_acks (
    id INTEGER PRIMARY KEY,
    cloud_system_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    operator TEXT NOT NULL,
    created_lab_at REAL NOT NULL,
    UNIQUE (cloud_system_id, serial, kind, ref));
