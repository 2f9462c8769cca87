-- Licence orders and renewals (S15): a subscription is a quantity of licences for a term of
-- calendar months, ordered (or renewed, continuing another licence) by an organization admin.
ALTER TABLE licences ADD COLUMN quantity INTEGER;
ALTER TABLE licences ADD COLUMN term_months INTEGER;
ALTER TABLE licences ADD COLUMN ordered_by TEXT;
ALTER TABLE licences ADD COLUMN ordered_at REAL;
ALTER TABLE licences ADD COLUMN renews TEXT;
