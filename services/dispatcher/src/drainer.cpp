#include "drainer.hpp"

#include <chrono>
#include <random>
#include <vector>

#include "push_batcher.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/db/connect.hpp"
#include "shared/db/inbox_kind.hpp"
#include "sql.hpp"

namespace chat::dispatcher {
namespace {

constexpr std::size_t k_max_push_bytes = 512 * 1024;

}  // namespace

void nats_push_sink::publish(const std::string& broker_id, const std::string& push) {
    nats_.publish(bus::subjects::broker_push(broker_id), push);
}

void nats_push_sink::flush() { nats_.flush(std::chrono::seconds(2)); }

drainer::drainer(std::unique_ptr<pqxx::connection> conn, push_sink& pushes, spdlog::logger& log, int batch_max)
    : conn_(std::move(conn)), pushes_(pushes), log_(log), batch_max_(batch_max) {
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

int drainer::drain(const std::set<int>& partitions) {
    pqxx::nontransaction tx(*conn_);
    const auto rows = tx.exec_prepared(sql::k_drain, db::bigint_array(partitions), batch_max_);
    if (rows.empty()) return 0;

    push_batcher batcher(k_max_push_bytes, [this](const std::string& broker_id, const proto::Push& push) {
        pushes_.publish(broker_id, push.SerializeAsString());
    });
    std::vector<std::int64_t> handled;
    handled.reserve(rows.size());
    for (const auto& row : rows) {
        handled.push_back(row[0].as<std::int64_t>());
        // Offline receivers get nothing pushed: the row is done (the message itself stays
        // stored in `messages`).
        if (!row[6].as<bool>() || row[7].is_null()) continue;
        // The CHECK constraint keeps unknown kinds out; a row that has one anyway (a newer
        // logic wrote it) is dropped rather than pushed as something it is not.
        const auto kind = db::inbox_kind_of(row[3].as<int>());
        if (!kind) continue;
        proto::Delivery d;
        d.set_kind(db::delivery_kind(*kind));
        d.set_session_id(row[1].as<std::int64_t>());
        d.set_receiver_id(row[2].as<std::int64_t>());
        d.set_msg_id(row[4].as<std::int64_t>());
        d.set_peer_id(row[5].as<std::int64_t>());
        if (d.kind() == proto::Delivery::MESSAGE) {
            if (row[8].is_null()) continue;
            d.set_sender_id(row[8].as<std::int64_t>());
            d.set_content(row[9].as<std::string>());
        } else if (d.kind() == proto::Delivery::NEW_SESSION) {
            d.set_sender_id(d.peer_id());
            if (!row[10].is_null()) d.set_peer_name(row[10].as<std::string>());
        }
        batcher.add(row[7].as<std::string>(), std::move(d));
    }
    batcher.flush();
    // The pushes must have reached nats-server before their rows go; if the flush fails
    // the rows stay and are delivered again by the next drain.
    pushes_.flush();
    tx.exec_prepared(sql::k_delete_delivered, db::bigint_array(handled));
    return static_cast<int>(rows.size());
}

}  // namespace chat::dispatcher
