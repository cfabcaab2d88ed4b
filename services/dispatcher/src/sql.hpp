#pragma once

#include <pqxx/pqxx>

namespace chat::dispatcher::sql {

// Advisory lock namespaces (the first key of pg_advisory_lock(int, int)). A drainer holds
// (k_presence_class, its id) while alive and (k_partition_class, p) for each partition it
// owns (advisory locks are per database, so several chat databases can share a server).
// Session-level locks vanish with the connection, so a dead dispatcher's
// partitions are free the moment PostgreSQL notices it is gone.
inline constexpr int k_presence_class = 0x63680001;
inline constexpr int k_partition_class = 0x63680002;

inline constexpr const char* k_live_drainers = "live_drainers";
inline constexpr const char* k_live_drainers_sql = R"sql(
SELECT count(*) FROM pg_locks
 WHERE locktype = 'advisory' AND granted AND classid = $1::oid AND objsubid = 2
   AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))sql";

inline constexpr const char* k_try_lock = "try_lock";
inline constexpr const char* k_try_lock_sql = "SELECT pg_try_advisory_lock($1::int, $2::int)";

inline constexpr const char* k_unlock = "unlock";
inline constexpr const char* k_unlock_sql = "SELECT pg_advisory_unlock($1::int, $2::int)";

// The oldest deliveries of some partitions (those woken together are drained by one
// statement) with everything a push needs (a NewSession's shared interests joined by
// U+001F, as logic reads them). Rows are read in id order, which per session
// is msgId order (logic inserts them under the session's sequence lock; a session lives
// in one partition).
inline constexpr const char* k_drain = "drain";
inline constexpr const char* k_drain_sql = R"sql(
SELECT i.id, i.session_id, i.receiver_id, i.kind, i.msg_id, i.peer_id,
       a.online, a.broker_id, m.sender_id, m.content, p.nickname, array_to_string(s.common_interests, E'\x1f'),
       extract(epoch FROM clock_timestamp() - i.created_at)::float8
  FROM inbox i
  JOIN accounts a ON a.id = i.receiver_id
  LEFT JOIN messages m ON i.kind = inbox_kind('message') AND m.session_id = i.session_id AND m.msg_id = i.msg_id
  LEFT JOIN accounts p ON i.kind = inbox_kind('new_session') AND p.id = i.peer_id
  LEFT JOIN sessions s ON i.kind = inbox_kind('new_session') AND s.id = i.session_id
 WHERE i.partition = ANY($1::int[])
 ORDER BY i.id
 LIMIT $2)sql";

// Deletes exactly the rows delivered (never "id <= last": a row with a smaller id may
// commit later and must not be lost).
inline constexpr const char* k_delete_delivered = "delete_delivered";
inline constexpr const char* k_delete_delivered_sql = "DELETE FROM inbox WHERE id = ANY($1::bigint[])";

inline constexpr const char* k_inbox_rows = "inbox_rows";
inline constexpr const char* k_inbox_rows_sql = "SELECT count(*) FROM inbox";

inline constexpr const char* k_inbox_partitions = "inbox_partitions";
inline constexpr const char* k_inbox_partitions_sql = "SELECT chat_inbox_partitions()";

void prepare_all(pqxx::connection& conn);

}  // namespace chat::dispatcher::sql
