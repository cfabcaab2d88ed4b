#include "services/dispatcher/src/drainer.hpp"

#include <chrono>
#include <random>

#include "services/dispatcher/src/sql.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/db/connect.hpp"

namespace chat::dispatcher {

void publish_pushes(bus::connection& nats, const std::vector<broker_push>& pushes) {
    for (const auto& p : pushes) nats.publish(bus::subjects::broker_push(p.broker_id), p.payload);
    nats.flush(std::chrono::seconds(2));
}

drainer::drainer(std::unique_ptr<pqxx::connection> conn, int batch_max)
    : conn_(std::move(conn)), batch_max_(batch_max) {
    sql::prepare_all(*conn_);
    pqxx::nontransaction tx(*conn_);
    // Deleting delivered rows is bookkeeping, not a promise to anyone: if a crash loses a
    // DELETE, its rows are pushed again and clients drop the msgIds they have (a push is
    // at least once already). So it need not wait for the WAL flush; messages themselves
    // are committed durably by logic before anyone hears code 0.
    tx.exec("SET synchronous_commit = off");
    partitions_ = tx.exec_prepared1(sql::k_inbox_partitions)[0].as<int>();
    // Announce this drainer with a presence lock under a random id (retry on the rare clash).
    std::random_device rd;
    std::uniform_int_distribution<int> ids(1, 0x7fffffff);
    do presence_id_ = ids(rd);
    while (!tx.exec_prepared1(sql::k_try_lock, sql::k_presence_class, presence_id_)[0].as<bool>());
}

void drainer::rebalance(std::set<int>& gained, std::set<int>& lost) {
    pqxx::nontransaction tx(*conn_);
    const auto live = std::max<long long>(1, tx.exec_prepared1(sql::k_live_drainers, sql::k_presence_class)[0].as<long long>());
    const auto want = static_cast<std::size_t>((partitions_ + live - 1) / live);
    while (owned_.size() > want) {
        const int p = *owned_.rbegin();
        tx.exec_prepared(sql::k_unlock, sql::k_partition_class, p);
        owned_.erase(p);
        lost.insert(p);
    }
    if (owned_.size() >= want) return;
    // Start at a random partition so drainers starting together do not all race for 0, 1, 2...
    std::random_device rd;
    const int start = static_cast<int>(rd() % static_cast<unsigned>(partitions_));
    for (int k = 0; k < partitions_ && owned_.size() < want; ++k) {
        const int p = (start + k) % partitions_;
        if (owned_.count(p)) continue;
        if (tx.exec_prepared1(sql::k_try_lock, sql::k_partition_class, p)[0].as<bool>()) {
            owned_.insert(p);
            gained.insert(p);
        }
    }
}

std::vector<inbox_row> drainer::read_rows(const std::set<int>& partitions) {
    pqxx::nontransaction tx(*conn_);
    const auto result = tx.exec_prepared(sql::k_drain, db::bigint_array(partitions), batch_max_);
    std::vector<inbox_row> rows(result.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& r = result[static_cast<pqxx::result::size_type>(i)];
        auto& row = rows[i];
        row.id = r[0].as<std::int64_t>();
        row.session_id = r[1].as<std::int64_t>();
        row.receiver_id = r[2].as<std::int64_t>();
        row.kind = r[3].as<int>();
        row.msg_id = r[4].as<std::int64_t>();
        row.peer_id = r[5].as<std::int64_t>();
        row.online = r[6].as<bool>();
        if (!r[7].is_null()) row.broker_id = r[7].as<std::string>();
        if (!r[8].is_null()) row.sender_id = r[8].as<std::int64_t>();
        if (!r[9].is_null()) row.content = r[9].as<std::string>();
        if (!r[10].is_null()) row.peer_name = r[10].as<std::string>();
        if (!r[11].is_null()) row.common_interests = db::split_unit_separated(r[11].as<std::string>());
        row.age_seconds = r[12].as<double>();
    }
    return rows;
}

void drainer::delete_rows(const std::vector<std::int64_t>& ids) {
    pqxx::nontransaction tx(*conn_);
    tx.exec_prepared(sql::k_delete_delivered, db::bigint_array(ids));
}

int drainer::drain(const std::set<int>& partitions, bus::connection& nats, dispatch_metrics* recorded) {
    using steady = std::chrono::steady_clock;
    const auto started = steady::now();
    const auto rows = read_rows(partitions);
    const auto read = steady::now();
    auto plan = plan_drain(rows);
    if (plan.handled.empty()) return 0;
    // The pushes must have reached nats-server before their rows go; if publishing fails
    // the rows stay and are delivered again by the next drain.
    publish_pushes(nats, plan.pushes);
    if (recorded != nullptr) {
        const double since_read = std::chrono::duration<double>(steady::now() - read).count();
        for (const auto& row : rows)
            if (row.online && row.broker_id) recorded->delivered(row.age_seconds + since_read);
    }
    delete_rows(plan.handled);
    if (recorded != nullptr) recorded->drained(std::chrono::duration<double>(steady::now() - started).count());
    return static_cast<int>(plan.handled.size());
}

long long drainer::inbox_rows() {
    pqxx::nontransaction tx(*conn_);
    return tx.exec_prepared1(sql::k_inbox_rows)[0].as<long long>();
}

}  // namespace chat::dispatcher
