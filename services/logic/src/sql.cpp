#include "services/logic/src/sql.hpp"

#include <cstddef>
#include <utility>

namespace chat::logic::sql {

namespace {

template <std::size_t N>
void prepare(pqxx::connection& conn, const std::pair<const char*, const char*> (&statements)[N]) {
    for (const auto& [name, text] : statements) conn.prepare(name, text);
}

}  // namespace

void prepare_all(pqxx::connection& conn) {
    const std::pair<const char*, const char*> statements[] = {
        {k_create_account, k_create_account_sql},
        {k_match, k_match_sql},
        {k_match_many, k_match_many_sql},
        {k_waiting_count, k_waiting_count_sql},
        {k_stop_waiting, k_stop_waiting_sql},
        {k_is_waiting, k_is_waiting_sql},
        {k_due_waiters, k_due_waiters_sql},
        {k_leave, k_leave_sql},
        {k_block, k_block_sql},
        {k_store_dialogues, k_store_dialogues_sql},
        {k_session_for_viewed, k_session_for_viewed_sql},
        {k_advance_viewed, k_advance_viewed_sql},
        {k_take_offline, k_take_offline_sql},
        {k_end_sessions, k_end_sessions_sql},
        {k_account_for_reconnect, k_account_for_reconnect_sql},
        {k_bind_account, k_bind_account_sql},
        {k_open_sessions_of, k_open_sessions_of_sql},
        {k_touch_broker, k_touch_broker_sql},
        {k_broker_seen, k_broker_seen_sql},
        {k_ghosts_of_broker, k_ghosts_of_broker_sql},
        {k_dead_brokers, k_dead_brokers_sql},
        {k_accounts_on_broker, k_accounts_on_broker_sql},
        {k_forget_broker, k_forget_broker_sql},
        {k_inbox_partitions, k_inbox_partitions_sql},
        {k_go_away, k_go_away_sql},
        {k_announce_presence, k_announce_presence_sql},
        {k_expired_away, k_expired_away_sql},
        {k_end_away, k_end_away_sql},
        {k_ack_deliveries, k_ack_deliveries_sql},
        {k_lock_open_sequences, k_lock_open_sequences_sql},
        {k_missed_messages, k_missed_messages_sql},
        {k_resume_state, k_resume_state_sql},
        {k_recent_window, k_recent_window_sql},
        {k_back_on_same_connection, k_back_on_same_connection_sql},
    };
    prepare(conn, statements);
}

void prepare_retention(pqxx::connection& conn) {
    const std::pair<const char*, const char*> statements[] = {
        {k_retention_try_lock, k_retention_try_lock_sql},
        {k_retention_unlock, k_retention_unlock_sql},
        {k_purge_sessions, k_purge_sessions_sql},
        {k_purge_accounts, k_purge_accounts_sql},
        {k_purge_reports, k_purge_reports_sql},
    };
    prepare(conn, statements);
}

}  // namespace chat::logic::sql
