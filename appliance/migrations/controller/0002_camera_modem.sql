-- What the dock reads from a camera's LTE modem (T4 rows 2, 4, 5): the SIM state the Manager's
-- camera page shows, and the alert the Manager raises when the camera is docked.
ALTER TABLE ctl_cameras ADD COLUMN sim_status TEXT;
ALTER TABLE ctl_cameras ADD COLUMN sim_alert TEXT;
ALTER TABLE ctl_cameras ADD COLUMN sim_alert_at REAL;
