#include "services/dispatcher/src/sql.hpp"

namespace chat::dispatcher::sql {

void prepare_all(pqxx::connection& conn) {
    conn.prepare(k_live_drainers, k_live_drainers_sql);
    conn.prepare(k_try_lock, k_try_lock_sql);
    conn.prepare(k_unlock, k_unlock_sql);
    conn.prepare(k_drain, k_drain_sql);
    conn.prepare(k_delete_delivered, k_delete_delivered_sql);
    conn.prepare(k_inbox_partitions, k_inbox_partitions_sql);
    conn.prepare(k_inbox_rows, k_inbox_rows_sql);
}

}  // namespace chat::dispatcher::sql
