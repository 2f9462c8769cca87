-- The APN is the system's (Settings > Camera > Mobile networks > Show advanced, as in the manual's
-- T2 row 4c and T4 row 7), no longer each camera's: a system whose cameras had one keeps the
-- first camera's as its own, and the per-camera column goes.
UPDATE ctl_systems
SET settings = json_set(settings, '$.mobile_networks',
                        json_object('apn', (SELECT apn FROM ctl_cameras c
                                            WHERE c.system_id = ctl_systems.id AND apn IS NOT NULL AND apn != ''
                                            ORDER BY created_at, serial LIMIT 1)))
WHERE EXISTS (SELECT 1 FROM ctl_cameras c WHERE c.system_id = ctl_systems.id AND apn IS NOT NULL AND apn != '');
ALTER TABLE ctl_cameras DROP COLUMN apn;
