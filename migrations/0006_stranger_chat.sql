-- Stranger chat as people expect it (docs/protocol.md, MATCH to REPORT): a waiting pool
-- any logic process can pair from, interests, the pairing rules, LEAVE, BLOCK, REPORT
-- and bans. Every rule lives in a function below, so every way two people get paired
-- (a MATCH, a waiter's retry, someone arriving) applies the same ones.

-- Where an account connects from (the broker's view: the TCP peer, or X-Forwarded-For
-- behind a trusted proxy): bans by address and reports need it. created_address is where
-- it was made, for the rule against report brigades (chat_report below).
ALTER TABLE accounts ADD COLUMN client_address text;
ALTER TABLE accounts ADD COLUMN created_address text;
CREATE INDEX accounts_created_from ON accounts (created_address, created_at);

-- The interests two people shared when they were paired (lower case), for NewSession
-- and RECONNECT.
ALTER TABLE sessions ADD COLUMN common_interests text[] NOT NULL DEFAULT '{}';
-- Every session of a pair, open or ended: the repeat window looks here.
CREATE INDEX sessions_pair ON sessions (account_lo, account_hi, ended_at);
-- An account's open sessions, for the conversation cap.
CREATE INDEX sessions_open_lo ON sessions (account_lo) WHERE ended_at IS NULL;
CREATE INDEX sessions_open_hi ON sessions (account_hi) WHERE ended_at IS NULL;
-- A session's members and sequence row are written by chat_open_session below in the
-- statement that inserts the session, and never on their own: the foreign keys to
-- sessions checked what cannot happen, and each check locks the new session row (a WAL
-- record per member): a fifth of a MATCH's time in PostgreSQL.
ALTER TABLE session_members DROP CONSTRAINT session_members_session_id_fkey;
ALTER TABLE session_sequences DROP CONSTRAINT session_sequences_session_id_fkey;

-- The waiting pool: people whose MATCH found nobody suitable. A row stays while its
-- account is away (waiting pauses: only online rows are paired) and goes when the
-- account is paired, cancels, logs out, or the grace runs out.
CREATE TABLE match_waiters (
    account_id       bigint      PRIMARY KEY REFERENCES accounts (id),
    since            timestamptz NOT NULL DEFAULT now(),  -- longest waiting first
    interests        text[]      NOT NULL DEFAULT '{}',   -- lower case, sorted, distinct
    takes_anyone_at  timestamptz NOT NULL,                -- since + interest_wait (since without interests)
    next_try         timestamptz NOT NULL                 -- when logic's sweep tries again
);
-- A shared interest is found through the GIN index; people who take anyone by
-- takes_anyone_at. Waiters who suit each other never stay in the pool together, so both
-- lookups return few rows however many people are online. The pool changes with every
-- pairing: without fastupdate = off, each lookup would also read GIN's whole pending
-- list of recent changes (up to 4 MB; ten times the cost under load).
CREATE INDEX match_waiters_interests ON match_waiters USING gin (interests) WITH (fastupdate = off);
CREATE INDEX match_waiters_takes_anyone ON match_waiters (takes_anyone_at);
CREATE INDEX match_waiters_next_try ON match_waiters (next_try);

-- blocker never meets blocked again, whoever asks (BLOCK and REPORT).
CREATE TABLE blocks (
    blocker_id  bigint      NOT NULL REFERENCES accounts (id),
    blocked_id  bigint      NOT NULL REFERENCES accounts (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id)
);

-- What a moderator needs to judge a report; one per reporter and reported account.
CREATE TABLE reports (
    id                bigserial   PRIMARY KEY,
    session_id        bigint      NOT NULL REFERENCES sessions (id),
    reporter_id       bigint      NOT NULL REFERENCES accounts (id),
    reported_id       bigint      NOT NULL REFERENCES accounts (id),
    reason            text        NOT NULL
        CHECK (reason IN ('spam', 'harassment', 'sexual', 'hate', 'underage', 'other')),
    text              text        NOT NULL DEFAULT '',
    reporter_address  text,
    reported_address  text,
    -- The conversation's last 20 messages at the time of the report, oldest first:
    -- [{"msgId":..,"senderId":..,"content":..,"at":..}]. A copy, so that retention
    -- cannot take the evidence away.
    messages          jsonb       NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (reporter_id, reported_id)
);
CREATE INDEX reports_by_reported ON reports (reported_id, created_at);

-- Banned from matching until `until`: the account, and anyone connecting from its
-- address (a new account from there included).
CREATE TABLE bans (
    id              bigserial   PRIMARY KEY,
    account_id      bigint      REFERENCES accounts (id),
    client_address  text,
    until           timestamptz NOT NULL,
    reason          text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (account_id IS NOT NULL OR client_address IS NOT NULL)
);
CREATE INDEX bans_by_account ON bans (account_id, until) WHERE account_id IS NOT NULL;
CREATE INDEX bans_by_address ON bans (client_address, until) WHERE client_address IS NOT NULL;

-- The small rule functions below are PL/pgSQL, not SQL: PostgreSQL 15 cannot inline a
-- SQL function with a subquery, and plans such a function's body again on every call
-- (0.1 ms each; a MATCH calls several per candidate), while PL/pgSQL keeps its plans for
-- the connection (0.015 ms).

-- Until when an account, or its address, is banned from matching (NULL: it is not).
CREATE FUNCTION chat_banned_until(p_account bigint, p_address text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    RETURN (SELECT max(until) FROM bans
             WHERE (account_id = p_account OR client_address = p_address) AND until > now());
END
$fn$;

-- How many conversations an account has open.
CREATE FUNCTION chat_open_sessions(p_account bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    RETURN (SELECT count(*) FROM sessions WHERE account_lo = p_account AND ended_at IS NULL)
         + (SELECT count(*) FROM sessions WHERE account_hi = p_account AND ended_at IS NULL);
END
$fn$;

-- The pair rules: never yourself, never someone you have an open conversation with or
-- talked to within the repeat window, never someone either of you blocked.
CREATE FUNCTION chat_may_pair(p_a bigint, p_b bigint, p_repeat_window interval) RETURNS boolean
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    RETURN p_a <> p_b
       AND NOT EXISTS (SELECT 1 FROM sessions s
                        WHERE s.account_lo = LEAST(p_a, p_b) AND s.account_hi = GREATEST(p_a, p_b)
                          AND (s.ended_at IS NULL OR s.ended_at > now() - p_repeat_window))
       AND NOT EXISTS (SELECT 1 FROM blocks k
                        WHERE (k.blocker_id = p_a AND k.blocked_id = p_b)
                           OR (k.blocker_id = p_b AND k.blocked_id = p_a));
END
$fn$;

-- Whether `p_candidate` may be given to `p_account` now, as far as the candidate's own
-- state goes: online, below the cap, not banned, and the pair rules.
CREATE FUNCTION chat_pickable(p_account bigint, p_candidate bigint, p_cap int, p_repeat_window interval)
RETURNS boolean
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    RETURN (SELECT a.online
               AND chat_open_sessions(a.id) < p_cap
               AND chat_banned_until(a.id, a.client_address) IS NULL
               AND chat_may_pair(p_account, a.id, p_repeat_window)
              FROM accounts a WHERE a.id = p_candidate);
END
$fn$;

-- Tags as stored: trimmed, lower case, distinct, sorted.
CREATE FUNCTION chat_interests(p_tags text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
    RETURN (SELECT COALESCE(array_agg(DISTINCT lower(btrim(t)) ORDER BY lower(btrim(t))), '{}')
              FROM unnest(p_tags) t WHERE btrim(t) <> '');
END
$fn$;

CREATE FUNCTION chat_common(p_a text[], p_b text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
    RETURN (SELECT COALESCE(array_agg(t ORDER BY t), '{}')
              FROM (SELECT unnest(p_a) INTERSECT SELECT unnest(p_b)) x(t));
END
$fn$;

-- Opens a session between two locked accounts with its NewSession rows: to the partner
-- always, to the requester too when it did not ask just now (a waiter paired by a retry,
-- someone paired on arrival). NULL when the pair has an open session already. One
-- statement, not five: each statement a function runs costs its own executor start-up.
CREATE FUNCTION chat_open_session(p_requester bigint, p_partner bigint, p_common text[], p_tell_requester boolean)
RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    v_session bigint;
BEGIN
    WITH s AS (
        INSERT INTO sessions (account_lo, account_hi, common_interests)
        VALUES (LEAST(p_requester, p_partner), GREATEST(p_requester, p_partner), p_common)
        ON CONFLICT (account_lo, account_hi) WHERE ended_at IS NULL DO NOTHING
        RETURNING id),
    members AS (
        INSERT INTO session_members (session_id, account_id)
        SELECT s.id, v.account FROM s, (VALUES (p_requester), (p_partner)) v(account)),
    sequence AS (
        INSERT INTO session_sequences (session_id) SELECT s.id FROM s),
    told AS (
        INSERT INTO inbox (session_id, receiver_id, kind, peer_id)
        SELECT s.id, v.receiver, inbox_kind('new_session'), v.peer
          FROM s, (VALUES (p_partner, p_requester, true), (p_requester, p_partner, p_tell_requester)) v(receiver, peer, tell)
         WHERE v.tell)
    SELECT s.id INTO v_session FROM s;
    RETURN v_session;
END
$fn$;

-- The waiters p_account could be given, best first: those sharing an interest (longest
-- waiting first), then, when p_takes_anyone, those who take anyone. Without a shared
-- interest both sides must take anyone. The pair rules are not applied here.
-- A generic plan: left to choose, PostgreSQL plans this query again on every call (its
-- custom plans drop a branch and look cheaper), which cost four times the query itself.
CREATE FUNCTION chat_waiter_candidates(p_account bigint, p_interests text[], p_takes_anyone boolean)
RETURNS TABLE (account_id bigint, interests text[])
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
    RETURN QUERY
        (SELECT w.account_id, w.interests FROM match_waiters w
          WHERE cardinality(p_interests) > 0 AND w.interests && p_interests AND w.account_id <> p_account
          ORDER BY w.since LIMIT 20)
        UNION ALL
        (SELECT w.account_id, w.interests FROM match_waiters w
          WHERE p_takes_anyone AND w.takes_anyone_at <= now() AND w.account_id <> p_account
            AND NOT (w.interests && p_interests)
          ORDER BY w.takes_anyone_at LIMIT 20);
END
$fn$;

-- Takes the first candidate waiter (above) the pair rules allow. Rows another
-- transaction holds are skipped (it is pairing or changing that person). The claimed
-- waiter's account row is locked and its pool row deleted.
CREATE FUNCTION chat_claim_waiter(p_account bigint, p_interests text[], p_takes_anyone boolean,
                                  p_cap int, p_repeat_window interval,
                                  OUT partner_id bigint, OUT common text[])
LANGUAGE plpgsql AS $fn$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM chat_waiter_candidates(p_account, p_interests, p_takes_anyone)
    LOOP
        CONTINUE WHEN NOT COALESCE(chat_pickable(p_account, c.account_id, p_cap, p_repeat_window), false);
        PERFORM 1 FROM accounts WHERE id = c.account_id AND online FOR NO KEY UPDATE SKIP LOCKED;
        CONTINUE WHEN NOT FOUND;
        -- Under the lock, with a fresh snapshot: still waiting, still below the cap.
        DELETE FROM match_waiters w WHERE w.account_id = c.account_id RETURNING w.interests INTO common;
        CONTINUE WHEN NOT FOUND;
        -- (At the cap only if max_conversations was lowered: then it stops waiting.)
        CONTINUE WHEN chat_open_sessions(c.account_id) >= p_cap;
        partner_id := c.account_id;
        common := chat_common(common, p_interests);
        RETURN;
    END LOOP;
END
$fn$;

-- Someone online at random who is not waiting (they did not ask: they get NewSession):
-- seek the partial match_key index to a random point and take the next one the rules
-- allow, wrapping around. The point is a parameter, so it is an index condition.
CREATE FUNCTION chat_pick_online(p_account bigint, p_point float8, p_cap int, p_repeat_window interval)
RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    v_candidate bigint;
BEGIN
    FOR attempt IN 1..5 LOOP
        SELECT a.id INTO v_candidate FROM accounts a
         WHERE a.online AND a.match_key >= p_point AND a.id <> p_account
           AND NOT EXISTS (SELECT 1 FROM match_waiters w WHERE w.account_id = a.id)
           AND chat_open_sessions(a.id) < p_cap
           AND chat_banned_until(a.id, a.client_address) IS NULL
           AND chat_may_pair(p_account, a.id, p_repeat_window)
         ORDER BY a.match_key LIMIT 1;
        IF v_candidate IS NULL THEN  -- nobody after the point: wrap around
            SELECT a.id INTO v_candidate FROM accounts a
             WHERE a.online AND a.match_key < p_point AND a.id <> p_account
               AND NOT EXISTS (SELECT 1 FROM match_waiters w WHERE w.account_id = a.id)
               AND chat_open_sessions(a.id) < p_cap
               AND chat_banned_until(a.id, a.client_address) IS NULL
               AND chat_may_pair(p_account, a.id, p_repeat_window)
             ORDER BY a.match_key LIMIT 1;
        END IF;
        IF v_candidate IS NULL THEN
            RETURN NULL;
        END IF;
        PERFORM 1 FROM accounts WHERE id = v_candidate AND online FOR NO KEY UPDATE SKIP LOCKED;
        -- Locked: check again with a fresh snapshot (it may have started waiting or
        -- reached the cap meanwhile).
        IF FOUND AND NOT EXISTS (SELECT 1 FROM match_waiters WHERE account_id = v_candidate)
           AND chat_open_sessions(v_candidate) < p_cap THEN
            RETURN v_candidate;
        END IF;
        p_point := random();  -- someone else holds that one: look elsewhere
    END LOOP;
    RETURN NULL;
END
$fn$;

-- Every pairing goes through here (docs/protocol.md, MATCH). p_mode:
--   'ask'    a MATCH: pair now, or join the pool (code 13);
--   'retry'  try a waiter again (logic's sweep; when it comes back);
--   'recheck' right after an 'ask' joined the pool: a waiter who joined at the same
--            moment (only waiters: the 'ask' has just looked at everyone else),
--            answered by that MATCH's reply rather than a NewSession;
--   'arrive' someone came online: a waiter who takes anyone may have them. If they are
--            waiting themselves this is a retry.
-- One row: code (0 paired, 4 nothing to do, 6 offline, 13 waiting, 14 banned, 15 at
-- the cap), the session, the partner, the shared interests, the ban's end, and whether
-- the requester is told by NewSession (in 'retry' and 'arrive').
--
-- Races: a retry takes the pool lock before anything else, so retries see each other's
-- commits; an 'ask' that joins the pool is rechecked right after its commit (logic does
-- that), so two people who joined together still find each other: of two commits, the
-- later one's recheck sees the earlier. A recheck first looks without any lock and
-- stops there when no waiter suits (most do: the 'ask' just found nobody); only one
-- that sees a suitable waiter takes the pool lock, so two rechecks never hold their own
-- rows at once and skip each other. Candidates' rows are taken with SKIP LOCKED: nobody
-- waits for a row another pairing holds, and nobody is paired twice at once.
CREATE FUNCTION chat_match(p_mode text, p_account bigint, p_interests text[], p_point float8,
                           p_cap int, p_repeat_window interval, p_interest_wait interval, p_retry_after interval,
                           OUT code int, OUT session_id bigint, OUT partner_id bigint, OUT partner_name text,
                           OUT common_interests text[], OUT banned_until timestamptz)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_me record;
    v_waiter record;
    v_waiting boolean;
    v_mine text[];
    v_takes_anyone boolean;
BEGIN
    IF p_mode = 'arrive' THEN
        IF EXISTS (SELECT 1 FROM match_waiters WHERE account_id = p_account) THEN
            p_mode := 'retry';
        ELSIF NOT EXISTS (SELECT 1 FROM match_waiters WHERE takes_anyone_at <= now()) THEN
            code := 4;  -- nobody waits who would take a newcomer: the usual login costs one probe
            RETURN;
        END IF;
    END IF;
    IF p_mode = 'recheck' THEN
        SELECT w.interests, w.takes_anyone_at <= now() INTO v_mine, v_takes_anyone
          FROM match_waiters w WHERE w.account_id = p_account;
        IF NOT FOUND OR NOT EXISTS (
               SELECT 1 FROM chat_waiter_candidates(p_account, v_mine, v_takes_anyone) c
                WHERE chat_pickable(p_account, c.account_id, p_cap, p_repeat_window)) THEN
            code := 4;  -- paired or cancelled meanwhile, or nobody suits: no lock taken
            RETURN;
        END IF;
    END IF;
    IF p_mode IN ('retry', 'recheck') THEN
        -- The pool lock: advisory class 0x63680003 (the dispatcher's are ...01 and ...02).
        PERFORM pg_advisory_xact_lock(1667760131, 0);
    END IF;
    SELECT a.online, a.client_address INTO v_me FROM accounts a WHERE a.id = p_account FOR NO KEY UPDATE;
    IF NOT FOUND OR NOT v_me.online THEN
        code := 6;
        RETURN;
    END IF;
    SELECT w.* INTO v_waiter FROM match_waiters w WHERE w.account_id = p_account FOR UPDATE;
    v_waiting := FOUND;
    banned_until := chat_banned_until(p_account, v_me.client_address);
    IF banned_until IS NOT NULL THEN
        DELETE FROM match_waiters WHERE account_id = p_account;
        code := 14;
        RETURN;
    END IF;
    IF p_mode = 'ask' AND v_waiting THEN
        code := 13;  -- a MATCH while waiting changes nothing
        RETURN;
    END IF;
    IF p_mode IN ('retry', 'recheck') AND NOT v_waiting THEN
        code := 4;  -- paired or cancelled meanwhile
        RETURN;
    END IF;
    IF chat_open_sessions(p_account) >= p_cap THEN
        DELETE FROM match_waiters WHERE account_id = p_account;
        code := CASE WHEN p_mode = 'arrive' THEN 4 ELSE 15 END;
        RETURN;
    END IF;

    IF v_waiting THEN
        v_mine := v_waiter.interests;
        v_takes_anyone := v_waiter.takes_anyone_at <= now();
    ELSIF p_mode = 'ask' THEN
        v_mine := chat_interests(p_interests);
        v_takes_anyone := cardinality(v_mine) = 0;
    ELSE  -- arriving: no interests given
        v_mine := '{}';
        v_takes_anyone := true;
    END IF;

    -- Without interests only a waiter who takes anyone could be claimed: most of the time
    -- there is none, and one probe says so.
    IF cardinality(v_mine) > 0 OR EXISTS (SELECT 1 FROM match_waiters WHERE takes_anyone_at <= now()) THEN
        SELECT c.partner_id, c.common INTO partner_id, common_interests
          FROM chat_claim_waiter(p_account, v_mine, v_takes_anyone, p_cap, p_repeat_window) c;
    END IF;
    IF partner_id IS NULL AND v_takes_anyone AND p_mode IN ('ask', 'retry') THEN
        partner_id := chat_pick_online(p_account, p_point, p_cap, p_repeat_window);
        common_interests := '{}';
    END IF;

    IF partner_id IS NULL THEN
        IF p_mode = 'arrive' THEN
            code := 4;
        ELSIF v_waiting THEN
            UPDATE match_waiters
               SET next_try = CASE WHEN takes_anyone_at > now() THEN takes_anyone_at ELSE now() + p_retry_after END
             WHERE account_id = p_account;
            code := 13;
        ELSE
            INSERT INTO match_waiters (account_id, interests, takes_anyone_at, next_try)
            VALUES (p_account, v_mine,
                    now() + CASE WHEN v_takes_anyone THEN interval '0' ELSE p_interest_wait END,
                    now() + CASE WHEN v_takes_anyone THEN p_retry_after ELSE p_interest_wait END);
            code := 13;
        END IF;
        RETURN;
    END IF;

    IF v_waiting THEN
        DELETE FROM match_waiters WHERE account_id = p_account;
    END IF;
    session_id := chat_open_session(p_account, partner_id, common_interests, p_mode NOT IN ('ask', 'recheck'));
    IF session_id IS NULL THEN
        -- chat_may_pair saw no open session of the pair; one committed since.
        RAISE EXCEPTION 'the pair %/% has an open session already', p_account, partner_id
            USING ERRCODE = 'serialization_failure';
    END IF;
    SELECT a.nickname INTO partner_name FROM accounts a WHERE a.id = partner_id;
    code := 0;
END
$fn$;

-- A group of MATCHes ('ask') in one statement, so in one round trip and one transaction
-- (logic calls it without BEGIN: it commits when it returns). The requesters' rows are
-- locked in id order first: chat_match then waits for no row (candidates are taken with
-- SKIP LOCKED), so two groups cannot deadlock. p_interests[i] is request i's tags joined
-- by U+001F, which no tag contains (control characters are refused). One row per
-- request, in their order.
CREATE FUNCTION chat_match_many(p_accounts bigint[], p_interests text[], p_cap int, p_repeat_window interval,
                                p_interest_wait interval, p_retry_after interval)
RETURNS TABLE (code int, session_id bigint, partner_id bigint, partner_name text,
               common_interests text[], banned_until timestamptz)
LANGUAGE plpgsql AS $fn$
BEGIN
    IF cardinality(p_accounts) IS DISTINCT FROM cardinality(p_interests) THEN
        RAISE EXCEPTION 'chat_match_many: % accounts but % interest lists',
            cardinality(p_accounts), cardinality(p_interests) USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM 1 FROM accounts a WHERE a.id = ANY (p_accounts) ORDER BY a.id FOR NO KEY UPDATE;
    FOR i IN 1 .. cardinality(p_accounts) LOOP
        RETURN QUERY SELECT m.* FROM chat_match('ask', p_accounts[i], string_to_array(p_interests[i], E'\x1f'),
                                                random(), p_cap, p_repeat_window, p_interest_wait, p_retry_after) m;
    END LOOP;
END
$fn$;

-- Ends one session of p_account (LEAVE, BLOCK, REPORT): the partner gets PartnerExit.
-- Returns the partner, or NULL when p_account is not in an open session p_session.
CREATE FUNCTION chat_end_session(p_session bigint, p_account bigint) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    v_partner bigint;
BEGIN
    UPDATE sessions s SET ended_at = now()
     WHERE s.id = p_session AND p_account IN (s.account_lo, s.account_hi) AND s.ended_at IS NULL
    RETURNING CASE WHEN s.account_lo = p_account THEN s.account_hi ELSE s.account_lo END INTO v_partner;
    IF v_partner IS NOT NULL THEN
        INSERT INTO inbox (session_id, receiver_id, kind, peer_id)
        VALUES (p_session, v_partner, inbox_kind('partner_exit'), p_account);
    END IF;
    RETURN v_partner;
END
$fn$;

-- BLOCK (p_reason NULL) or REPORT of the partner in p_session, open or ended. One row:
-- code (0, or 8 when p_account was never in the session), whether the session ended now
-- (its partition has a PartnerExit to deliver), and whether a ban began.
--
-- A report counts toward a ban once per reporting account (UNIQUE), and not at all when
-- its reporter was made from the reported person's address within a minute of the
-- reported account or of another account that reported them: accounts made in a burst
-- where the reported person sits are the cheapest brigade there is.
CREATE FUNCTION chat_block(p_session bigint, p_account bigint, p_reason text, p_text text,
                           p_threshold int, p_report_window interval, p_ban_duration interval,
                           OUT code int, OUT ended boolean, OUT banned boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_partner bigint;
    v_reported record;
    v_counted bigint;
BEGIN
    banned := false;
    SELECT CASE WHEN s.account_lo = p_account THEN s.account_hi ELSE s.account_lo END INTO v_partner
      FROM sessions s WHERE s.id = p_session AND p_account IN (s.account_lo, s.account_hi);
    IF v_partner IS NULL THEN
        code := 8;
        ended := false;
        RETURN;
    END IF;
    ended := chat_end_session(p_session, p_account) IS NOT NULL;
    INSERT INTO blocks (blocker_id, blocked_id) VALUES (p_account, v_partner) ON CONFLICT DO NOTHING;
    code := 0;
    IF p_reason IS NULL THEN
        RETURN;
    END IF;

    INSERT INTO reports (session_id, reporter_id, reported_id, reason, text, reporter_address, reported_address, messages)
    SELECT p_session, p_account, v_partner, p_reason, COALESCE(p_text, ''),
           (SELECT client_address FROM accounts WHERE id = p_account),
           (SELECT client_address FROM accounts WHERE id = v_partner),
           COALESCE((SELECT jsonb_agg(jsonb_build_object('msgId', m.msg_id, 'senderId', m.sender_id,
                                                         'content', m.content, 'at', m.created_at)
                                      ORDER BY m.msg_id)
                       FROM (SELECT * FROM messages WHERE messages.session_id = p_session
                              ORDER BY msg_id DESC LIMIT 20) m), '[]'::jsonb)
    ON CONFLICT (reporter_id, reported_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN;  -- reported them before: it counts once
    END IF;

    -- Reports on one person are counted one at a time (its row lock).
    SELECT a.id, a.client_address, a.created_address, a.created_at INTO v_reported
      FROM accounts a WHERE a.id = v_partner FOR NO KEY UPDATE;
    IF chat_banned_until(v_partner, v_reported.client_address) IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT count(DISTINCT r.reporter_id) INTO v_counted
      FROM reports r JOIN accounts ra ON ra.id = r.reporter_id
     WHERE r.reported_id = v_partner AND r.created_at > now() - p_report_window
       AND NOT (ra.created_address IS NOT NULL
                AND ra.created_address IN (v_reported.client_address, v_reported.created_address)
                AND (abs(extract(epoch FROM ra.created_at - v_reported.created_at)) < 60
                     OR EXISTS (SELECT 1 FROM reports o JOIN accounts oa ON oa.id = o.reporter_id
                                 WHERE o.reported_id = v_partner AND o.reporter_id <> r.reporter_id
                                   AND oa.created_address = ra.created_address
                                   AND abs(extract(epoch FROM oa.created_at - ra.created_at)) < 60)));
    IF v_counted >= p_threshold THEN
        INSERT INTO bans (account_id, client_address, until, reason)
        VALUES (v_partner, v_reported.client_address, now() + p_ban_duration,
                format('reports from %s accounts within %s', v_counted, p_report_window));
        DELETE FROM match_waiters WHERE account_id = v_partner;
        banned := true;
    END IF;
END
$fn$;

REVOKE EXECUTE ON FUNCTION chat_banned_until(bigint, text), chat_open_sessions(bigint),
    chat_may_pair(bigint, bigint, interval), chat_pickable(bigint, bigint, int, interval),
    chat_interests(text[]), chat_common(text[], text[]), chat_open_session(bigint, bigint, text[], boolean),
    chat_waiter_candidates(bigint, text[], boolean),
    chat_claim_waiter(bigint, text[], boolean, int, interval), chat_pick_online(bigint, float8, int, interval),
    chat_match(text, bigint, text[], float8, int, interval, interval, interval),
    chat_match_many(bigint[], text[], int, interval, interval, interval),
    chat_end_session(bigint, bigint), chat_block(bigint, bigint, text, text, int, interval, interval)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chat_banned_until(bigint, text), chat_open_sessions(bigint),
    chat_may_pair(bigint, bigint, interval), chat_pickable(bigint, bigint, int, interval),
    chat_interests(text[]), chat_common(text[], text[]), chat_open_session(bigint, bigint, text[], boolean),
    chat_waiter_candidates(bigint, text[], boolean),
    chat_claim_waiter(bigint, text[], boolean, int, interval), chat_pick_online(bigint, float8, int, interval),
    chat_match(text, bigint, text[], float8, int, interval, interval, interval),
    chat_match_many(bigint[], text[], int, interval, interval, interval),
    chat_end_session(bigint, bigint), chat_block(bigint, bigint, text, text, int, interval, interval)
    TO chat_logic;
GRANT SELECT, INSERT, UPDATE, DELETE ON match_waiters TO chat_logic;
GRANT SELECT, INSERT ON blocks TO chat_logic;
GRANT SELECT, INSERT ON reports TO chat_logic;
GRANT SELECT, INSERT ON bans TO chat_logic;
GRANT USAGE ON SEQUENCE reports_id_seq, bans_id_seq TO chat_logic;
-- The dispatcher puts the shared interests into NewSession.
GRANT SELECT (id, common_interests) ON sessions TO chat_dispatcher;
