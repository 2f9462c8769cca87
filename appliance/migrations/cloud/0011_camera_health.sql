-- Camera health (issue 16 item 5): each camera's last health report (bwlab.wire.health, JSON) as the
-- device hub received it; ``last_seen_at`` is its last contact.
ALTER TABLE device_state ADD COLUMN health TEXT;
