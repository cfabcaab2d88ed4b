-- Retention (docs/operations.md, "Retention"): conversations that ended long ago go with
-- their messages, accounts offline long ago with nothing left go, old reports and bans go.
-- Each function below deletes ONE small batch and is its own transaction (logic calls it
-- outside BEGIN, from a thread and connection of its own, services/logic/src/retention.cpp),
-- so no purge holds locks or a snapshot for long, and chat goes on beside it.
--
-- They are SECURITY DEFINER: logic's role still cannot DELETE from these tables
-- (migrations/0005); it can only run these functions, which delete nothing younger than
-- the window they are given, and nothing a live conversation, a resume or the inbox needs.

-- Ended conversations, oldest first: what chat_purge_sessions walks.
CREATE INDEX sessions_ended ON sessions (ended_at, id) WHERE ended_at IS NOT NULL;
-- Accounts offline, longest first (COALESCE: never dropped since it was made).
CREATE INDEX accounts_offline_since ON accounts ((COALESCE(dropped_at, created_at))) WHERE NOT online;
CREATE INDEX reports_created ON reports (created_at);
CREATE INDEX bans_until ON bans (until);
-- Deleting an account makes PostgreSQL look for rows whose foreign keys name it: without
-- an index, each look is a scan of the whole table. sessions.account_lo has sessions_pair,
-- blocks.blocker_id its primary key, reports both (UNIQUE, reports_by_reported).
CREATE INDEX sessions_by_hi ON sessions (account_hi);
CREATE INDEX blocks_by_blocked ON blocks (blocked_id);

-- messages.sender_id: the sender is a member of the message's session (store_dialogues
-- checks), and the session's accounts are foreign keys already, so this key checked what
-- cannot happen. It also cost every stored message a lock on its sender's account row,
-- and deleting an account a scan of every message (it has no index, and one would cost
-- every message an index insert).
ALTER TABLE messages DROP CONSTRAINT messages_sender_id_fkey;
-- reports.session_id: a report keeps its own copy of the conversation's last messages
-- (migrations/0006) precisely so that it outlives the conversation; the id stays as a
-- plain reference. A report is deleted by its own window, retention.reports.
ALTER TABLE reports DROP CONSTRAINT reports_session_id_fkey;

-- One batch of conversations that ended before now() - p_window, oldest first, each with
-- everything that is only its: messages, members, sequence, inbox rows. About p_batch rows
-- at most: a conversation costs its messages + 1 (its sequence's last_msg_id is its message
-- count), and conversations are taken whole while they fit. One bigger than p_batch alone
-- loses p_batch of its oldest messages per call and goes once it is empty.
-- `more`: there may be more to purge now (call again).
--
-- Nothing live is touched: an ended session never opens again (a pair's next conversation
-- is a new session), store_dialogues refuses ended ones, and a resume reads ended sessions
-- only back to when the account dropped (a minute before), so the window
-- (retention.messages, at least matching.repeat_window) is far behind anything it reads.
-- Rows someone holds (a DIALOGUE to an ended session share-locks it) are skipped.
CREATE FUNCTION chat_purge_sessions(p_window interval, p_batch int,
                                    OUT sessions int, OUT messages int, OUT more boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE
    v_ids bigint[];
    v_candidates int;
    v_head bigint;
    v_deleted int;
BEGIN
    -- Lost in a crash, a purge is simply done again.
    PERFORM set_config('synchronous_commit', 'off', true);
    sessions := 0;
    messages := 0;
    WITH c AS (
        SELECT s.id, s.ended_at, COALESCE(q.last_msg_id, 0) + 1 AS cost
          FROM sessions s LEFT JOIN session_sequences q ON q.session_id = s.id
         WHERE s.ended_at < now() - p_window
         ORDER BY s.ended_at, s.id
         LIMIT p_batch
           FOR UPDATE OF s SKIP LOCKED),
    r AS (
        SELECT id, ended_at, sum(cost) OVER (ORDER BY ended_at, id) AS running FROM c)
    SELECT array_agg(id ORDER BY ended_at, id) FILTER (WHERE running <= p_batch),
           count(*), (array_agg(id ORDER BY ended_at, id))[1]
      INTO v_ids, v_candidates, v_head
      FROM r;
    IF v_candidates = 0 THEN
        more := false;
        RETURN;
    END IF;

    IF v_ids IS NULL THEN
        -- The oldest conversation alone is bigger than a batch: its oldest messages now, the
        -- rest in the next calls.
        DELETE FROM messages m
         WHERE m.session_id = v_head
           AND m.msg_id IN (SELECT x.msg_id FROM messages x WHERE x.session_id = v_head
                             ORDER BY x.msg_id LIMIT p_batch);
        GET DIAGNOSTICS messages = ROW_COUNT;
        IF messages = p_batch THEN
            more := true;
            RETURN;
        END IF;
        v_ids := ARRAY[v_head];  -- it is empty now: it goes below
        more := v_candidates > 1;
    ELSE
        more := v_candidates > cardinality(v_ids) OR v_candidates = p_batch;
    END IF;

    DELETE FROM messages m WHERE m.session_id = ANY (v_ids);
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    messages := messages + v_deleted;
    DELETE FROM session_members WHERE session_id = ANY (v_ids);
    DELETE FROM session_sequences WHERE session_id = ANY (v_ids);
    -- Normally long drained; the partition is in the index, the session is not.
    DELETE FROM inbox i
     WHERE i.partition = ANY (SELECT DISTINCT (u % chat_inbox_partitions())::int FROM unnest(v_ids) u)
       AND i.session_id = ANY (v_ids);
    DELETE FROM sessions s WHERE s.id = ANY (v_ids);
    GET DIAGNOSTICS sessions = ROW_COUNT;
END
$fn$;

-- Whether nothing but the account's own row, blocks and expired bans is left of it.
CREATE FUNCTION chat_retention_may_drop(p_account bigint) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
BEGIN
    RETURN NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = p_account AND a.away_since IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.account_lo = p_account)
       AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.account_hi = p_account)
       AND NOT EXISTS (SELECT 1 FROM match_waiters w WHERE w.account_id = p_account)
       AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.reporter_id = p_account)
       AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.reported_id = p_account)
       AND NOT EXISTS (SELECT 1 FROM bans b WHERE b.account_id = p_account AND b.until > now());
END
$fn$;

-- One batch (at most p_batch) of accounts offline since before now() - p_window, longest
-- offline first, that have nothing left: no session at all (chat_purge_sessions takes
-- their conversations first, so an account outlives its last conversation's messages),
-- not away (an away account still has a grace running), not waiting, not named in a
-- report (the report needs both sides; its window is retention.reports) nor banned now.
-- Their blocks (either way) and expired bans go with them. Returns how many went.
--
-- Races: the accounts are locked (FOR UPDATE SKIP LOCKED: one a RECONNECT or MATCH holds
-- is left for the next round) and checked again with a fresh snapshot under the lock.
-- While the lock is held nobody can bring the account online (RECONNECT locks the row
-- first), pair it (a candidate must be online) or open a session naming it (its foreign
-- key check waits for the lock, and then finds the account gone).
CREATE FUNCTION chat_purge_accounts(p_window interval, p_batch int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE
    v_ids bigint[];
    v_gone int;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    SELECT array_agg(x.id) INTO v_ids FROM (
        SELECT a.id FROM accounts a
         WHERE NOT a.online AND COALESCE(a.dropped_at, a.created_at) < now() - p_window
           AND chat_retention_may_drop(a.id)
         ORDER BY COALESCE(a.dropped_at, a.created_at)
         LIMIT p_batch
           FOR UPDATE SKIP LOCKED) x;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    -- Again under the lock, with this statement's snapshot.
    SELECT array_agg(a.id) INTO v_ids FROM accounts a
     WHERE a.id = ANY (v_ids) AND NOT a.online AND COALESCE(a.dropped_at, a.created_at) < now() - p_window
       AND chat_retention_may_drop(a.id);
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM blocks WHERE blocker_id = ANY (v_ids);
    DELETE FROM blocks WHERE blocked_id = ANY (v_ids);
    DELETE FROM bans WHERE account_id = ANY (v_ids);  -- expired ones only: see chat_retention_may_drop
    DELETE FROM accounts WHERE id = ANY (v_ids);
    GET DIAGNOSTICS v_gone = ROW_COUNT;
    RETURN v_gone;
END
$fn$;

-- One batch of reports made before now() - p_window and of bans that ended before it
-- (at most p_batch of each), oldest first. `more`: either filled its batch.
CREATE FUNCTION chat_purge_reports(p_window interval, p_batch int,
                                   OUT reports int, OUT bans int, OUT more boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    DELETE FROM reports r WHERE r.id IN (
        SELECT x.id FROM reports x WHERE x.created_at < now() - p_window
         ORDER BY x.created_at LIMIT p_batch FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS reports = ROW_COUNT;
    DELETE FROM bans b WHERE b.id IN (
        SELECT x.id FROM bans x WHERE x.until < now() - p_window
         ORDER BY x.until LIMIT p_batch FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS bans = ROW_COUNT;
    more := reports = p_batch OR bans = p_batch;
END
$fn$;

REVOKE EXECUTE ON FUNCTION chat_purge_sessions(interval, int), chat_purge_accounts(interval, int),
    chat_retention_may_drop(bigint), chat_purge_reports(interval, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chat_purge_sessions(interval, int), chat_purge_accounts(interval, int),
    chat_purge_reports(interval, int) TO chat_logic;
