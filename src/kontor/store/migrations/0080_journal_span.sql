-- A journal row can carry more than one event. A money change's row holds the transaction (its
-- payload, as before) and, before its own event, one balance.changed per operation that moved a
-- balance, derived from that payload when the events are read (kontor.events.journal): two of a
-- two-leg transfer's three rows, ~1.2 kB of payload and their index entries, are no longer
-- written. `span` is how many events the row carries; they take the seqs (seq - span, seq], so a
-- chain's events stay gapless and a row's seq is its last event's. A span of 1 is a row as it was.
ALTER TABLE journal ADD COLUMN span integer NOT NULL DEFAULT 1;
ALTER TABLE journal ADD CONSTRAINT journal_span_ck CHECK (span >= 1);
