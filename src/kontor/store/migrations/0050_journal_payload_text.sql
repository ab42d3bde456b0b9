-- The journal keeps each payload as the exact JSON text its hash covers (sorted keys, no spaces,
-- as kontor.core.journal writes it): no JSON parse on every insert, and no rendering back to text
-- on every read by the relay and the event streams, which send the text as it is. Rows written
-- before hold jsonb's rendering of the same value; `kontor verify` hashes the canonical form of
-- whatever text it reads, so both verify.
ALTER TABLE journal ALTER COLUMN payload TYPE text USING payload::text;
