-- Inbox kinds by name. An inbox row's `kind` is the Delivery.Kind of shared/proto/chat.proto;
-- C++ names them with chat::db::inbox_kind (shared/db/inbox_kind.hpp) and SQL with
-- inbox_kind('name') below, never with a bare number. tests/integration/store_pgtest.cpp
-- checks that the two lists agree, and the CHECK constraint refuses any other number.
--
-- inbox_kind() is IMMUTABLE and a single SELECT, so the planner inlines it and folds
-- inbox_kind('message') to the constant 1: naming a kind costs nothing per row.
CREATE FUNCTION inbox_kind(name text) RETURNS smallint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT CASE name
         WHEN 'message'      THEN 1   -- PUSH_DIALOGUE
         WHEN 'new_session'  THEN 2   -- PUSH_SIGNAL NewSession
         WHEN 'partner_exit' THEN 3   -- PUSH_SIGNAL PartnerExit
         WHEN 'viewed'       THEN 4   -- PUSH_VIEWED_ACK
         WHEN 'partner_away' THEN 5   -- PUSH_SIGNAL PartnerAway
         WHEN 'partner_back' THEN 6   -- PUSH_SIGNAL PartnerBack
       END::smallint
$fn$;

ALTER TABLE inbox ADD CONSTRAINT inbox_kind_known CHECK (kind BETWEEN 1 AND 6);
COMMENT ON COLUMN inbox.kind IS 'Delivery.Kind of chat.proto; name them with inbox_kind(name)';

-- migrations/0003's store_dialogues, unchanged but for naming the kind of the inbox rows
-- it writes.
CREATE OR REPLACE FUNCTION store_dialogues(p_session bigint[], p_sender bigint[], p_request text[], p_content text[])
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
        SELECT session_id, receiver_id, inbox_kind('message'), msg_id FROM fresh ORDER BY session_id, msg_id),
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
