-- Intake in one round trip instead of five (begin, lock, read, insert,
-- commit): on a machine where the app, its callers and the database share
-- the cores, every round trip is a wake-up on both ends.
--
-- Records a pending request with its `ensure_itf` job, under the lock that
-- serialises intake with the completion of this veteran's request of this
-- type, provided our record of the provider is still the version the caller
-- decided on (`p_record_version`, the row's `xmin`; NULL for no record).
-- Returns the new request (its id is `p_request_id`), or the open request
-- already there; returns nothing when the record has changed, for the
-- caller to read it and decide again. Whether a record shows an active ITF
-- is decided by the caller, not here.
--
-- Each statement of a VOLATILE function takes its own snapshot, so the
-- record is read after the lock is held: a completion committed while we
-- waited is seen.
-- The lock that serialises intake with the completion of a veteran's
-- request of a type, until the transaction ends: intake, the end of a turn
-- that confirmed an ITF and an operator's resolve all take it through here,
-- so that they cannot disagree on its key.
CREATE FUNCTION itf_request_lock(p_icn TEXT, p_itf_type TEXT) RETURNS void
LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('itf_request:' || p_icn || ':' || p_itf_type, 0));
$$;

CREATE FUNCTION itf_intake(
    p_request_id TEXT,
    p_user_id TEXT,
    p_icn TEXT,
    p_icn_sealed TEXT,
    p_veteran_name TEXT,
    p_itf_type TEXT,
    p_received_at TIMESTAMPTZ,
    p_shown_pending BOOLEAN,
    p_provider_said_none BOOLEAN,
    p_job_id TEXT,
    p_payload TEXT,
    p_record_version BIGINT
) RETURNS SETOF itf_requests
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM itf_request_lock(p_icn, p_itf_type);
    IF (SELECT xmin::text::bigint FROM provider_records
        WHERE icn = p_icn AND itf_type = p_itf_type) IS DISTINCT FROM p_record_version THEN
        RETURN;
    END IF;
    -- An open request that ends between the insert and the read is
    -- replaced by the next turn of the loop.
    LOOP
        RETURN QUERY
            WITH request AS (
                INSERT INTO itf_requests (id, user_id, icn, icn_sealed, veteran_name, itf_type,
                    state, received_at, shown_pending, provider_said_none, created_at, updated_at)
                VALUES (p_request_id, p_user_id, p_icn, p_icn_sealed, p_veteran_name, p_itf_type,
                    'pending', p_received_at, p_shown_pending, p_provider_said_none,
                    p_received_at, p_received_at)
                ON CONFLICT DO NOTHING
                RETURNING *),
            job AS (
                INSERT INTO jobs (id, kind, request_id, payload, state, run_at, received_at,
                    created_at, updated_at)
                SELECT p_job_id, 'ensure_itf', request.id, p_payload, 'queued', p_received_at,
                    p_received_at, p_received_at, p_received_at
                FROM request
                RETURNING 1)
            SELECT request.* FROM request, job;
        IF FOUND THEN
            RETURN;
        END IF;
        RETURN QUERY
            SELECT * FROM itf_requests
            WHERE icn = p_icn AND itf_type = p_itf_type AND state IN ('pending', 'needs_attention');
        IF FOUND THEN
            RETURN;
        END IF;
    END LOOP;
END;
$$;
