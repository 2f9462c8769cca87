-- The camera users of each connected system, as its controller last told the cloud (the
-- manual's metadata "related to the user: user id, user name"): Live lists them before their
-- camera has ever connected, and knows whether their profile streams.
CREATE TABLE system_camera_users (
    cloud_system_id TEXT NOT NULL REFERENCES cloud_systems(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    streaming INTEGER NOT NULL,
    remote_activation TEXT,
    cameras TEXT NOT NULL,  -- JSON: [{"serial", "model"}]
    synced_at REAL NOT NULL,
    PRIMARY KEY (cloud_system_id, user_id));
CREATE INDEX system_camera_users_name ON system_camera_users (cloud_system_id, name);
