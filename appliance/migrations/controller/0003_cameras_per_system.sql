-- A camera's serial is unique within its system, not across the systems the appliance emulates
-- (each is its own on-prem box; issue 10: device identity is (system, serial)).
CREATE TABLE ctl_cameras_per_system (
    serial TEXT NOT NULL,
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
    created_at REAL NOT NULL,
    sim_status TEXT,
    sim_alert TEXT,
    sim_alert_at REAL,
    PRIMARY KEY (system_id, serial)
);
INSERT INTO ctl_cameras_per_system (serial, system_id, model, imei, sim_pin, apn, camera_user_id, self_assign, dock_id,
                                    bay, docked_user_id, last_docked_at, cert_serial, cert_not_after, created_at,
                                    sim_status, sim_alert, sim_alert_at)
    SELECT serial, system_id, model, imei, sim_pin, apn, camera_user_id, self_assign, dock_id, bay, docked_user_id,
           last_docked_at, cert_serial, cert_not_after, created_at, sim_status, sim_alert, sim_alert_at
    FROM ctl_cameras;
DROP TABLE ctl_cameras;
ALTER TABLE ctl_cameras_per_system RENAME TO ctl_cameras;
