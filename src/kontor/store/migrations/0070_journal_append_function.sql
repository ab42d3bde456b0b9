-- The write funnel appends a batch's events inside its one write statement: this function locks
-- the heads of the batch's chains (in (organization, ledger) order, the last lock a batch takes),
-- numbers each chain's events from its head and hash-chains them exactly as
-- kontor.core.journal.link does for texts JSON writes as they are (ids, event types, subjects,
-- timestamps; the funnel checks that they are), inserts the rows and moves the heads. It returns
-- each event's seq by its 1-based position in `events`, for the idempotency records that point at
-- them. `events` is a JSON array of [organization_id, ledger_id, id, event_type, subject, payload].
CREATE FUNCTION kontor_journal_append(events jsonb, created_text text, created_at timestamptz)
RETURNS TABLE (event_position bigint, event_seq bigint) LANGUAGE plpgsql AS $$
DECLARE
    head record;
    ev record;
    chain_hash bytea;
    chain_seq bigint;
    positions bigint[] := '{}';
    organizations uuid[] := '{}';
    ledgers uuid[] := '{}';
    seqs bigint[] := '{}';
    ids uuid[] := '{}';
    types text[] := '{}';
    subjects text[] := '{}';
    payloads text[] := '{}';
    prev_hashes bytea[] := '{}';
    hashes bytea[] := '{}';
BEGIN
    FOR head IN
        INSERT INTO journal_heads AS h (organization_id, ledger_id, seq, hash)
        SELECT DISTINCT (e->>0)::uuid, (e->>1)::uuid, 0::bigint, decode(repeat('00', 32), 'hex')
          FROM jsonb_array_elements(events) AS e
         ORDER BY 1, 2
        ON CONFLICT (organization_id, ledger_id) DO UPDATE SET seq = h.seq
        RETURNING h.organization_id, h.ledger_id, h.seq, h.hash
    LOOP
        chain_seq := head.seq;
        chain_hash := head.hash;
        FOR ev IN
            SELECT x.n, x.e FROM jsonb_array_elements(events) WITH ORDINALITY AS x(e, n)
             WHERE (x.e->>0)::uuid = head.organization_id AND (x.e->>1)::uuid = head.ledger_id
             ORDER BY x.n
        LOOP
            chain_seq := chain_seq + 1;
            prev_hashes := array_append(prev_hashes, chain_hash);
            chain_hash := sha256(
                chain_hash
                || convert_to(
                    format('[%s,"%s","%s","%s","%s"]', chain_seq, ev.e->>2, ev.e->>3, ev.e->>4, created_text)
                    || E'\n' || (ev.e->>5),
                    'UTF8'
                )
            );
            positions := array_append(positions, ev.n);
            organizations := array_append(organizations, head.organization_id);
            ledgers := array_append(ledgers, head.ledger_id);
            seqs := array_append(seqs, chain_seq);
            ids := array_append(ids, (ev.e->>2)::uuid);
            types := array_append(types, (ev.e->>3));
            subjects := array_append(subjects, (ev.e->>4));
            payloads := array_append(payloads, (ev.e->>5));
            hashes := array_append(hashes, chain_hash);
        END LOOP;
        UPDATE journal_heads SET seq = chain_seq, hash = chain_hash
         WHERE organization_id = head.organization_id AND ledger_id = head.ledger_id;
    END LOOP;
    INSERT INTO journal (organization_id, ledger_id, seq, id, event_type, subject, payload, created_at, prev_hash, hash)
    SELECT o, l, s, i, t, sub, p, created_at, ph, hh
      FROM unnest(organizations, ledgers, seqs, ids, types, subjects, payloads, prev_hashes, hashes)
           AS u(o, l, s, i, t, sub, p, ph, hh);
    RETURN QUERY SELECT * FROM unnest(positions, seqs);
END $$;
