-- Moderation (docs/operations.md, "Moderation"): what logic's admin listener reads and
-- changes. Every admin request is one of the functions below, answering JSON in the
-- shapes of the admin API, so the API is one statement per request and logic's role
-- gets EXECUTE on these and nothing more on reports and bans (SECURITY DEFINER, like the
-- purges of 0008).

-- How a moderator settled a report: dismissed it, or banned the reported person.
ALTER TABLE reports ADD COLUMN resolved_at timestamptz;
ALTER TABLE reports ADD COLUMN resolution text CHECK (resolution IN ('dismissed', 'banned'));
ALTER TABLE reports ADD COLUMN resolution_note text NOT NULL DEFAULT '';
ALTER TABLE reports ADD CONSTRAINT reports_resolved_together CHECK ((resolved_at IS NULL) = (resolution IS NULL));
-- The moderator's queue: open reports, newest first.
CREATE INDEX reports_open ON reports (created_at DESC) WHERE resolved_at IS NULL;
CREATE INDEX reports_resolved ON reports (resolved_at DESC) WHERE resolved_at IS NOT NULL;

-- A lifted ban ends at the time it was lifted (until = lifted_at): every rule that asks
-- "banned?" (chat_banned_until) sees it over at once, and the row stays for the record
-- until retention takes it with the other ended bans.
ALTER TABLE bans ADD COLUMN lifted_at timestamptz;
ALTER TABLE bans ADD COLUMN created_by text NOT NULL DEFAULT 'reports' CHECK (created_by IN ('reports', 'moderator'));

-- One account as the admin API shows it (null when retention took it).
CREATE FUNCTION chat_admin_account(p_account bigint, p_address text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    SELECT jsonb_build_object('accountId', p_account,
                              'nickName', (SELECT a.nickname FROM accounts a WHERE a.id = p_account),
                              'address', p_address)
$fn$;

-- One report in the admin API's shape.
CREATE FUNCTION chat_admin_report_json(r reports) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    SELECT jsonb_build_object(
        'id', r.id, 'createdAt', r.created_at, 'reason', r.reason, 'text', r.text, 'sessionId', r.session_id,
        'reporter', chat_admin_account(r.reporter_id, r.reporter_address),
        'reported', chat_admin_account(r.reported_id, r.reported_address) || jsonb_build_object(
            'reportCount', (SELECT count(DISTINCT o.reporter_id) FROM reports o WHERE o.reported_id = r.reported_id),
            'bannedUntil', chat_banned_until(r.reported_id,
                                             (SELECT a.client_address FROM accounts a WHERE a.id = r.reported_id))),
        'messages', r.messages,
        'resolvedAt', r.resolved_at, 'resolution', r.resolution, 'note', r.resolution_note)
$fn$;

-- Reports, newest first: p_state 'open', 'resolved' or 'all'.
CREATE FUNCTION chat_admin_reports(p_state text, p_limit int) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    SELECT jsonb_build_object('reports', COALESCE(jsonb_agg(chat_admin_report_json(r) ORDER BY r.created_at DESC, r.id DESC), '[]'))
      FROM (SELECT * FROM reports
             WHERE (p_state = 'open' AND resolved_at IS NULL)
                OR (p_state = 'resolved' AND resolved_at IS NOT NULL)
                OR p_state = 'all'
             ORDER BY created_at DESC, id DESC LIMIT p_limit) r
$fn$;

-- Settles an open report. code: 0 (report: the report), 404 unknown, 409 settled before.
CREATE FUNCTION chat_admin_resolve(p_report bigint, p_resolution text, p_note text, OUT code int, OUT report jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE
    v_row reports;
BEGIN
    SELECT * INTO v_row FROM reports WHERE id = p_report FOR UPDATE;
    IF NOT FOUND THEN
        code := 404;
        RETURN;
    END IF;
    IF v_row.resolved_at IS NOT NULL THEN
        code := 409;
        report := chat_admin_report_json(v_row);
        RETURN;
    END IF;
    UPDATE reports SET resolved_at = now(), resolution = p_resolution, resolution_note = p_note
     WHERE id = p_report RETURNING * INTO v_row;
    code := 0;
    report := chat_admin_report_json(v_row);
END
$fn$;

-- One ban in the admin API's shape.
CREATE FUNCTION chat_admin_ban_json(b bans) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    SELECT jsonb_build_object('id', b.id, 'accountId', b.account_id,
                              'nickName', (SELECT a.nickname FROM accounts a WHERE a.id = b.account_id),
                              'address', b.client_address, 'until', b.until, 'reason', b.reason,
                              'createdBy', b.created_by, 'createdAt', b.created_at, 'liftedAt', b.lifted_at)
$fn$;

-- Bans in force, newest first.
CREATE FUNCTION chat_admin_bans() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    SELECT jsonb_build_object('bans', COALESCE(jsonb_agg(chat_admin_ban_json(b) ORDER BY b.created_at DESC, b.id DESC), '[]'))
      FROM bans b WHERE b.until > now()
$fn$;

-- A moderator's ban from matching: the account, the address, or both. A banned waiter
-- leaves the pool at once (as with a ban by reports). Null when the account is unknown.
CREATE FUNCTION chat_admin_ban(p_account bigint, p_address text, p_duration interval, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE
    v_row bans;
BEGIN
    IF p_account IS NOT NULL THEN
        PERFORM 1 FROM accounts WHERE id = p_account FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO bans (account_id, client_address, until, reason, created_by)
    VALUES (p_account, p_address, now() + p_duration, p_reason, 'moderator') RETURNING * INTO v_row;
    DELETE FROM match_waiters w
     WHERE w.account_id = p_account
        OR (p_address IS NOT NULL
            AND w.account_id IN (SELECT a.id FROM accounts a WHERE a.client_address = p_address AND a.online));
    RETURN chat_admin_ban_json(v_row);
END
$fn$;

-- Lifts a ban in force; null when there is none with that id.
CREATE FUNCTION chat_admin_lift(p_ban bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE
    v_row bans;
BEGIN
    UPDATE bans SET until = now(), lifted_at = now() WHERE id = p_ban AND until > now() RETURNING * INTO v_row;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN chat_admin_ban_json(v_row);
END
$fn$;

-- The live numbers: people online, waiting and open conversations, in all and per live
-- broker (a conversation counts at each broker one of its two people is connected to).
CREATE FUNCTION chat_admin_stats() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    WITH online AS (
        SELECT a.broker_id, count(*) AS n FROM accounts a WHERE a.online GROUP BY a.broker_id
    ), waiting AS (
        SELECT a.broker_id, count(*) AS n
          FROM match_waiters w JOIN accounts a ON a.id = w.account_id AND a.online GROUP BY a.broker_id
    ), open_ends AS (
        SELECT s.id, a.broker_id
          FROM sessions s JOIN accounts a ON a.id IN (s.account_lo, s.account_hi) AND a.online
         WHERE s.ended_at IS NULL
    ), conversations AS (
        SELECT broker_id, count(DISTINCT id) AS n FROM open_ends GROUP BY broker_id
    )
    SELECT jsonb_build_object(
        'online', (SELECT COALESCE(sum(n), 0) FROM online),
        'waiting', (SELECT COALESCE(sum(n), 0) FROM waiting),  -- a waiter who is away waits paused
        'openConversations', (SELECT count(*) FROM sessions WHERE ended_at IS NULL),
        'brokers', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'brokerId', b.id,
                       'online', COALESCE((SELECT n FROM online o WHERE o.broker_id = b.id), 0),
                       'waiting', COALESCE((SELECT n FROM waiting w WHERE w.broker_id = b.id), 0),
                       'openConversations', COALESCE((SELECT n FROM conversations c WHERE c.broker_id = b.id), 0))
                   ORDER BY b.id)
              FROM brokers b), '[]'))
$fn$;

REVOKE EXECUTE ON FUNCTION chat_admin_account(bigint, text), chat_admin_report_json(reports),
    chat_admin_reports(text, int), chat_admin_resolve(bigint, text, text), chat_admin_ban_json(bans),
    chat_admin_bans(), chat_admin_ban(bigint, text, interval, text), chat_admin_lift(bigint), chat_admin_stats()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chat_admin_reports(text, int), chat_admin_resolve(bigint, text, text), chat_admin_bans(),
    chat_admin_ban(bigint, text, interval, text), chat_admin_lift(bigint), chat_admin_stats()
    TO chat_logic;
