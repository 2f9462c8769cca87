-- The Manager's actions in the organization's audit trail (issue 16 item 4, docs/audit.md): the seq of
-- the last audit event a connected system sent that the cloud appended (a resend is recognised by it).
ALTER TABLE cloud_systems ADD COLUMN audit_seq INTEGER NOT NULL DEFAULT 0;
