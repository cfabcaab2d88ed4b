-- Logic's two hottest transactions as functions, so each is one round trip to the
-- server (called outside BEGIN, the statement is its own transaction) instead of a
-- BEGIN, several statements and a COMMIT. At 1,000 msg/s most DIALOGUE transactions
-- hold one message, so the round trips, not the rows, were most of PostgreSQL's and
-- logic's CPU per message (docs/performance.md).

-- Stores a batch of DIALOGUEs: item i is (p_session[i], p_sender[i], p_request[i],
-- p_content[i]). One row per item, in item order, with its outcome:
--   0 stored under msg_id (and an inbox row for the receiver written),
--   1 a resend of a message stored earlier, or earlier in this batch: its msg_id,
--   2 the sender is not in the session (or there is no such session),
--   3 the session has ended.
-- Each session's new messages take its next msgIds in item order.
--
-- Every row it reads is found by a primary or unique key. enable_seqscan = off keeps
-- it that way in the plan each connection caches at its first call: made while
-- `messages` was still empty, that plan would otherwise scan the whole table for
-- resends until autovacuum's first ANALYZE replaced it.
CREATE FUNCTION store_dialogues(p_session bigint[], p_sender bigint[], p_request text[], p_content text[])
RETURNS TABLE (item int, outcome smallint, msg_id bigint)
LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
#variable_conflict use_column
BEGIN
    -- Share-lock the sessions (they may not end meanwhile) and lock their sequences
    -- (this transaction issues the next msgIds), in session id order so concurrent
    -- batches cannot deadlock. The statement below takes its snapshot after these locks
    -- are granted, so it sees every message committed before them.
    PERFORM 1
       FROM sessions s JOIN session_sequences q ON q.session_id = s.id
      WHERE s.id = ANY (p_session)
      ORDER BY s.id
        FOR SHARE OF s FOR UPDATE OF q;

    RETURN QUERY
    WITH i AS (
        SELECT t.ord::int AS item, t.session_id, t.sender_id, t.request_id, t.content
          FROM unnest(p_session, p_sender, p_request, p_content)
               WITH ORDINALITY AS t(session_id, sender_id, request_id, content, ord)),
    -- The first item of each (session, sender, requestId); later ones resend it.
    f AS (
        SELECT DISTINCT ON (session_id, sender_id, request_id) *
          FROM i
         ORDER BY session_id, sender_id, request_id, item),
    judged AS (
        SELECT f.*, m.msg_id AS stored_id,
               COALESCE(f.sender_id IN (s.account_lo, s.account_hi), false) AS member,
               s.ended_at IS NULL AS open, q.last_msg_id,
               CASE WHEN f.sender_id = s.account_lo THEN s.account_hi ELSE s.account_lo END AS receiver_id
          FROM f
          LEFT JOIN messages m USING (session_id, sender_id, request_id)
          LEFT JOIN sessions s ON s.id = f.session_id
          LEFT JOIN session_sequences q ON q.session_id = f.session_id),
    fresh AS (
        SELECT item, session_id, sender_id, request_id, content, receiver_id,
               last_msg_id + row_number() OVER (PARTITION BY session_id ORDER BY item) AS msg_id
          FROM judged
         WHERE stored_id IS NULL AND member AND open),
    stored AS (
        INSERT INTO messages (session_id, msg_id, sender_id, request_id, content)
        SELECT session_id, msg_id, sender_id, request_id, content FROM fresh),
    -- Inbox rows in (session, msgId) order, so their ids follow msgId order.
    delivered AS (
        INSERT INTO inbox (session_id, receiver_id, kind, msg_id)
        SELECT session_id, receiver_id, 1, msg_id FROM fresh ORDER BY session_id, msg_id),
    advanced AS (
        UPDATE session_sequences q SET last_msg_id = n.last_msg_id
          FROM (SELECT session_id, max(msg_id) AS last_msg_id FROM fresh GROUP BY session_id) n
         WHERE q.session_id = n.session_id),
    verdict AS (
        SELECT j.item, j.session_id, j.sender_id, j.request_id,
               CASE WHEN j.stored_id IS NOT NULL THEN 1 WHEN NOT j.member THEN 2 WHEN NOT j.open THEN 3 ELSE 0 END
                   AS outcome,
               COALESCE(j.stored_id, n.msg_id) AS msg_id
          FROM judged j LEFT JOIN fresh n USING (item))
    SELECT i.item,
           (CASE WHEN i.item = v.item OR v.outcome > 1 THEN v.outcome ELSE 1 END)::smallint,
           v.msg_id
      FROM i JOIN verdict v USING (session_id, sender_id, request_id)
     ORDER BY i.item;
END
$fn$;

-- Moves members' delivery positions forward: ack i is account p_account[i] having
-- received session p_session[i] up to p_msg[i]. One row per ack, in order: whether the
-- account is a member of the session and the session's last msgId (an ack past it
-- changes nothing). Positions only move forward. Key lookups only, as store_dialogues.
CREATE FUNCTION ack_deliveries(p_account bigint[], p_session bigint[], p_msg bigint[])
RETURNS TABLE (item int, member boolean, last_msg_id bigint)
LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
#variable_conflict use_column
BEGIN
    -- An acknowledgement lost in a crash only means those messages are pushed again on
    -- the next resume (clients drop msgIds they have): the commit need not wait for the
    -- WAL flush. Set for the rest of this transaction, which this statement is.
    PERFORM set_config('synchronous_commit', 'off', true);

    RETURN QUERY
    WITH a AS (
        SELECT t.ord::int AS item, t.account_id, t.session_id, t.msg_id
          FROM unnest(p_account, p_session, p_msg) WITH ORDINALITY AS t(account_id, session_id, msg_id, ord)),
    v AS (
        SELECT a.*, me.account_id IS NOT NULL AS member, COALESCE(q.last_msg_id, 0) AS last_msg_id
          FROM a
          LEFT JOIN session_members me ON me.session_id = a.session_id AND me.account_id = a.account_id
          LEFT JOIN session_sequences q ON q.session_id = a.session_id),
    moved AS (
        UPDATE session_members me SET acked_up_to = g.msg_id
          FROM (SELECT account_id, session_id, max(msg_id) AS msg_id
                  FROM v WHERE member AND msg_id <= last_msg_id
                 GROUP BY account_id, session_id) g
         WHERE me.session_id = g.session_id AND me.account_id = g.account_id AND me.acked_up_to < g.msg_id)
    SELECT v.item, v.member, v.last_msg_id FROM v ORDER BY v.item;
END
$fn$;
