#pragma once

#include <pqxx/pqxx>

namespace chat::logic::sql {

// Every statement logic runs, prepared once per connection under these names.

inline constexpr const char* k_create_account = "create_account";
inline constexpr const char* k_create_account_sql = R"sql(
INSERT INTO accounts (nickname, token_hash, online, broker_id, conn_key, token_expires_at,
                      client_address, created_address)
VALUES ($1, $2, true, $3, $4, now() + $5::bigint * interval '1 millisecond', NULLIF($6, ''), NULLIF($6, ''))
RETURNING id)sql";

// Every pairing: chat_match of migrations/0006 ($1 the mode: ask, recheck, retry,
// arrive). Interests come back joined by U+001F (tags cannot contain control
// characters), the ban's end as ISO-8601 UTC.
inline constexpr const char* k_match = "match";
inline constexpr const char* k_match_sql = R"sql(
SELECT code, session_id, partner_id, partner_name, array_to_string(common_interests, E'\x1f'),
       to_char(banned_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
  FROM chat_match($1, $2, $3::text[], $4::float8, $5::int, $6::bigint * interval '1 millisecond',
                  $7::bigint * interval '1 millisecond', $8::bigint * interval '1 millisecond'))sql";

// A group of MATCHes in one statement, its own transaction (chat_match_many): $1 the
// requesters, $2 each one's tags joined by U+001F.
inline constexpr const char* k_match_many = "match_many";
inline constexpr const char* k_match_many_sql = R"sql(
SELECT code, session_id, partner_id, partner_name, array_to_string(common_interests, E'\x1f'),
       to_char(banned_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
  FROM chat_match_many($1::bigint[], $2::text[], $3::int, $4::bigint * interval '1 millisecond',
                       $5::bigint * interval '1 millisecond', $6::bigint * interval '1 millisecond'))sql";

inline constexpr const char* k_stop_waiting = "stop_waiting";
inline constexpr const char* k_stop_waiting_sql = R"sql(
DELETE FROM match_waiters WHERE account_id = $1 RETURNING 1)sql";

inline constexpr const char* k_is_waiting = "is_waiting";
inline constexpr const char* k_is_waiting_sql = R"sql(
SELECT EXISTS (SELECT 1 FROM match_waiters WHERE account_id = $1))sql";

// Online waiters whose next try is due, oldest due first.
inline constexpr const char* k_waiting_count = "waiting_count";
inline constexpr const char* k_waiting_count_sql = R"sql(SELECT count(*) FROM match_waiters)sql";

inline constexpr const char* k_due_waiters = "due_waiters";
inline constexpr const char* k_due_waiters_sql = R"sql(
SELECT w.account_id FROM match_waiters w JOIN accounts a ON a.id = w.account_id AND a.online
 WHERE w.next_try <= now()
 ORDER BY w.next_try LIMIT 200)sql";

inline constexpr const char* k_leave = "leave";
inline constexpr const char* k_leave_sql = R"sql(
SELECT chat_end_session($1, $2) IS NOT NULL)sql";

// BLOCK ($3 empty) or REPORT: (code, ended now, ban began).
inline constexpr const char* k_block = "block";
inline constexpr const char* k_block_sql = R"sql(
SELECT code, ended, banned
  FROM chat_block($1, $2, NULLIF($3, ''), $4, $5::int, $6::bigint * interval '1 millisecond', $7::bigint * interval '1 millisecond'))sql";

// A batch of DIALOGUEs in one round trip, and its own transaction: the function of
// migrations/0003 locks the sessions' sequences, finds resends, stores the messages and
// inbox rows and advances the sequences. One row per item: (item, outcome, msg_id).
inline constexpr const char* k_store_dialogues = "store_dialogues";
inline constexpr const char* k_store_dialogues_sql = R"sql(
SELECT item, outcome, msg_id FROM store_dialogues($1::bigint[], $2::bigint[], $3::text[], $4::text[]))sql";

inline constexpr const char* k_session_for_viewed = "session_for_viewed";
inline constexpr const char* k_session_for_viewed_sql = R"sql(
SELECT s.ended_at IS NULL AS open, q.last_msg_id,
       CASE WHEN s.account_lo = $2 THEN s.account_hi ELSE s.account_lo END AS partner
  FROM sessions s JOIN session_sequences q ON q.session_id = s.id
 WHERE s.id = $1 AND $2 IN (s.account_lo, s.account_hi))sql";

inline constexpr const char* k_advance_viewed = "advance_viewed";
inline constexpr const char* k_advance_viewed_sql = R"sql(
WITH u AS (
  UPDATE session_members SET viewed_up_to = $3
   WHERE session_id = $1 AND account_id = $2 AND viewed_up_to < $3
  RETURNING session_id)
INSERT INTO inbox (session_id, receiver_id, kind, msg_id, peer_id)
SELECT session_id, $4, inbox_kind('viewed'), $3, $2 FROM u
RETURNING 1)sql";

// Takes the account offline only if `conn_key` is still its connection (a stale close
// of a replaced connection changes nothing). $3 revokes the token (LOGOUT).
inline constexpr const char* k_take_offline = "take_offline";
inline constexpr const char* k_take_offline_sql = R"sql(
UPDATE accounts
   SET online = false, broker_id = NULL, conn_key = NULL, away_since = NULL, dropped_at = now(),
       token_hash = CASE WHEN $3 THEN NULL ELSE token_hash END
 WHERE id = $1 AND conn_key = $2
RETURNING id)sql";

// The connection dropped and there is a grace period: the account is away, its
// sessions stay open. Conditional on the connection, like take_offline; the connection
// key stays, so a broker that was wrongly thought dead can bring it back (resume).
inline constexpr const char* k_go_away = "go_away";
inline constexpr const char* k_go_away_sql = R"sql(
UPDATE accounts
   SET online = false, away_since = now(), dropped_at = now()
 WHERE id = $1 AND conn_key = $2 AND online
RETURNING id)sql";

// Tells the partner of every open session that the account went away or came back ($2:
// inbox_kind::partner_away or partner_back).
inline constexpr const char* k_announce_presence = "announce_presence";
inline constexpr const char* k_announce_presence_sql = R"sql(
INSERT INTO inbox (session_id, receiver_id, kind, peer_id)
SELECT s.id, CASE WHEN s.account_lo = $1 THEN s.account_hi ELSE s.account_lo END, $2, $1
  FROM session_members m JOIN sessions s ON s.id = m.session_id AND s.ended_at IS NULL
 WHERE m.account_id = $1
 ORDER BY s.id
RETURNING session_id)sql";

inline constexpr const char* k_expired_away = "expired_away";
inline constexpr const char* k_expired_away_sql = R"sql(
SELECT id FROM accounts
 WHERE away_since < now() - $1::bigint * interval '1 millisecond'
 ORDER BY away_since LIMIT 1000)sql";

// The grace ran out (re-checked under the row lock: a RECONNECT may have won the race).
inline constexpr const char* k_end_away = "end_away";
inline constexpr const char* k_end_away_sql = R"sql(
UPDATE accounts SET away_since = NULL, broker_id = NULL, conn_key = NULL
 WHERE id = $1 AND NOT online AND away_since < now() - $2::bigint * interval '1 millisecond'
RETURNING id)sql";

// A batch of ACKs of many accounts in one round trip (migrations/0003), committed
// without waiting for the WAL flush. One row per ack: (item, member, last_msg_id).
inline constexpr const char* k_ack_deliveries = "ack_deliveries";
inline constexpr const char* k_ack_deliveries_sql = R"sql(
SELECT item, member, last_msg_id FROM ack_deliveries($1::bigint[], $2::bigint[], $3::bigint[]))sql";

// Resume: share-lock the sequences of the account's open sessions (in id order, like
// every other lock on them) so no message can commit between "the dispatcher saw the
// account away" and the snapshot the resume reads.
inline constexpr const char* k_lock_open_sequences = "lock_open_sequences";
inline constexpr const char* k_lock_open_sequences_sql = R"sql(
SELECT q.session_id
  FROM session_members me
  JOIN sessions s ON s.id = me.session_id AND s.ended_at IS NULL
  JOIN session_sequences q ON q.session_id = me.session_id
 WHERE me.account_id = $1
 ORDER BY q.session_id
   FOR SHARE OF q)sql";

// The partner's messages the account has not acknowledged (nor been re-sent in an
// earlier page: $2/$3), in open sessions and sessions that ended after $4.
inline constexpr const char* k_missed_messages = "missed_messages";
inline constexpr const char* k_missed_messages_sql = R"sql(
SELECT m.session_id, m.msg_id, m.sender_id, m.content
  FROM session_members me
  JOIN sessions s ON s.id = me.session_id
  LEFT JOIN unnest($2::bigint[], $3::bigint[]) AS c(session_id, sent_up_to) ON c.session_id = me.session_id
  JOIN messages m ON m.session_id = me.session_id AND m.sender_id <> $1
                 AND m.msg_id > GREATEST(me.acked_up_to, COALESCE(c.sent_up_to, 0))
 WHERE me.account_id = $1 AND (s.ended_at IS NULL OR s.ended_at >= $4::timestamptz)
 ORDER BY m.session_id, m.msg_id
 LIMIT $5)sql";

// The partners' read positions, whether they are away, and the sessions that ended
// after $2, for a resume.
inline constexpr const char* k_resume_state = "resume_state";
inline constexpr const char* k_resume_state_sql = R"sql(
SELECT s.id, p.account_id, p.viewed_up_to, s.ended_at IS NOT NULL AS ended, pa.away_since IS NOT NULL AS partner_away
  FROM session_members me
  JOIN sessions s ON s.id = me.session_id
  JOIN session_members p ON p.session_id = me.session_id AND p.account_id <> $1
  JOIN accounts pa ON pa.id = p.account_id
 WHERE me.account_id = $1 AND (s.ended_at IS NULL OR s.ended_at >= $2::timestamptz)
 ORDER BY s.id)sql";

// Ends every open session of an account (rows locked in id order, like the dialogue
// batch) and queues a PartnerExit for each partner.
inline constexpr const char* k_end_sessions = "end_sessions";
inline constexpr const char* k_end_sessions_sql = R"sql(
WITH locked AS (
  SELECT s.id FROM sessions s JOIN session_members m ON m.session_id = s.id
   WHERE m.account_id = $1 AND s.ended_at IS NULL
   ORDER BY s.id FOR UPDATE OF s),
ended AS (
  UPDATE sessions s SET ended_at = now() FROM locked WHERE s.id = locked.id
  RETURNING s.id, CASE WHEN s.account_lo = $1 THEN s.account_hi ELSE s.account_lo END AS partner)
INSERT INTO inbox (session_id, receiver_id, kind, peer_id)
SELECT id, partner, inbox_kind('partner_exit'), $1 FROM ended
RETURNING session_id)sql";

inline constexpr const char* k_account_for_reconnect = "account_for_reconnect";
inline constexpr const char* k_account_for_reconnect_sql = R"sql(
SELECT token_hash, nickname, online, broker_id, conn_key, away_since IS NOT NULL AS away,
       COALESCE(token_expires_at > now(), false) AS fresh,
       (COALESCE(dropped_at, now()) - interval '1 minute')::text AS resume_window
  FROM accounts WHERE id = $1 FOR UPDATE)sql";

// Where a plain resume (the account stayed online) starts looking for ended sessions.
inline constexpr const char* k_recent_window = "recent_window";
inline constexpr const char* k_recent_window_sql = R"sql(
SELECT (now() - interval '1 minute')::text, conn_key = $2, online, away_since IS NOT NULL
  FROM accounts WHERE id = $1 FOR UPDATE)sql";

// The broker still holds the connection of an account marked away (it was thought dead):
// the account is back on that very connection.
inline constexpr const char* k_back_on_same_connection = "back_on_same_connection";
inline constexpr const char* k_back_on_same_connection_sql = R"sql(
UPDATE accounts SET online = true, away_since = NULL
 WHERE id = $1 AND conn_key = $2 AND NOT online AND away_since IS NOT NULL
RETURNING id)sql";

inline constexpr const char* k_bind_account = "bind_account";
inline constexpr const char* k_bind_account_sql = R"sql(
UPDATE accounts SET online = true, broker_id = $2, conn_key = $3, match_key = random(), away_since = NULL,
                    client_address = COALESCE(NULLIF($4, ''), client_address)
 WHERE id = $1)sql";

inline constexpr const char* k_open_sessions_of = "open_sessions_of";
inline constexpr const char* k_open_sessions_of_sql = R"sql(
SELECT s.id, p.id, p.nickname, array_to_string(s.common_interests, E'\x1f')
  FROM session_members m
  JOIN sessions s ON s.id = m.session_id AND s.ended_at IS NULL
  JOIN accounts p ON p.id = CASE WHEN s.account_lo = $1 THEN s.account_hi ELSE s.account_lo END
 WHERE m.account_id = $1
 ORDER BY s.id)sql";

inline constexpr const char* k_touch_broker = "touch_broker";
inline constexpr const char* k_touch_broker_sql = R"sql(
INSERT INTO brokers (id, epoch, seen_at) VALUES ($1, $2, now())
ON CONFLICT (id) DO UPDATE SET epoch = EXCLUDED.epoch, seen_at = now())sql";

// Binding an account through a broker proves the broker alive: record it if logic does
// not know it yet, so its accounts are reaped if it dies even before logic heard its
// hello or a heartbeat. DO NOTHING takes no row lock: refreshing the one row on every
// login made all logins through a broker wait for each other's commits (heartbeats
// keep seen_at fresh).
inline constexpr const char* k_broker_seen = "broker_seen";
inline constexpr const char* k_broker_seen_sql = R"sql(
INSERT INTO brokers (id, epoch, seen_at) VALUES ($1, $2, now())
ON CONFLICT (id) DO NOTHING)sql";

// Accounts a broker held under an older epoch: that process is gone.
inline constexpr const char* k_ghosts_of_broker = "ghosts_of_broker";
inline constexpr const char* k_ghosts_of_broker_sql = R"sql(
SELECT id, conn_key FROM accounts
 WHERE online AND broker_id = $1 AND conn_key NOT LIKE $2 || '/%')sql";

inline constexpr const char* k_dead_brokers = "dead_brokers";
inline constexpr const char* k_dead_brokers_sql = R"sql(
SELECT id FROM brokers WHERE seen_at < now() - $1::bigint * interval '1 millisecond')sql";

inline constexpr const char* k_accounts_on_broker = "accounts_on_broker";
inline constexpr const char* k_accounts_on_broker_sql = R"sql(
SELECT id, conn_key FROM accounts WHERE online AND broker_id = $1)sql";

inline constexpr const char* k_forget_broker = "forget_broker";
inline constexpr const char* k_forget_broker_sql = R"sql(
DELETE FROM brokers WHERE id = $1 AND seen_at < now() - $2::bigint * interval '1 millisecond')sql";

inline constexpr const char* k_inbox_partitions = "inbox_partitions";
inline constexpr const char* k_inbox_partitions_sql = "SELECT chat_inbox_partitions()";

// Retention (migrations/0008; services/logic/src/retention.cpp), on the retention
// thread's own connection only. One logic process purges at a time: it holds this
// session-level advisory lock for the round (the dispatcher's classes are 0x63680001 and
// ...02, the waiting pool's ...03).
inline constexpr int k_retention_lock_class = 0x63680004;

inline constexpr const char* k_retention_try_lock = "retention_try_lock";
inline constexpr const char* k_retention_try_lock_sql = "SELECT pg_try_advisory_lock($1::int, 0)";

inline constexpr const char* k_retention_unlock = "retention_unlock";
inline constexpr const char* k_retention_unlock_sql = "SELECT pg_advisory_unlock($1::int, 0)";

// Each one batch, its own transaction (called outside BEGIN); $1 the window in ms, $2 the batch.
inline constexpr const char* k_purge_sessions = "purge_sessions";
inline constexpr const char* k_purge_sessions_sql = R"sql(
SELECT sessions, messages, more FROM chat_purge_sessions($1::bigint * interval '1 millisecond', $2::int))sql";

inline constexpr const char* k_purge_accounts = "purge_accounts";
inline constexpr const char* k_purge_accounts_sql = R"sql(
SELECT chat_purge_accounts($1::bigint * interval '1 millisecond', $2::int))sql";

inline constexpr const char* k_purge_reports = "purge_reports";
inline constexpr const char* k_purge_reports_sql = R"sql(
SELECT reports, bans, more FROM chat_purge_reports($1::bigint * interval '1 millisecond', $2::int))sql";

/// Prepares every statement above but the retention ones on `conn`.
void prepare_all(pqxx::connection& conn);
/// Prepares the retention statements on `conn`.
void prepare_retention(pqxx::connection& conn);

}  // namespace chat::logic::sql
