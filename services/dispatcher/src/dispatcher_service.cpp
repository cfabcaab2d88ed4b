#include "services/dispatcher/src/dispatcher_service.hpp"

#include <chrono>
#include <memory>
#include <utility>

#include "services/dispatcher/src/drainer.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/db/connect.hpp"
#include "shared/log/logger.hpp"
#include "shared/proto/chat.pb.h"
#include "shared/util/stop_signal.hpp"

namespace chat::dispatcher {

using clock = std::chrono::steady_clock;

dispatcher_service::dispatcher_service(dispatcher_settings settings, std::shared_ptr<spdlog::logger> log)
    : settings_(std::move(settings)),
      log_(std::move(log)),
      nats_(bus::connection_options(settings_.nats, "chat-dispatcher"), log_) {
    for (auto& o : owner_) o = -1;
    if (settings_.http.port != 0) {
        status_ = std::make_unique<metrics::status_server>(settings_.http.address,
                                                           static_cast<unsigned short>(settings_.http.port), metrics_,
                                                           [this] { return readiness(); }, log_);
        log_->info("status on http://{}:{}/ (/metrics, /healthz, /readyz)", settings_.http.address, status_->port());
    }
    for (int i = 0; i < settings_.workers; ++i) states_.push_back(std::make_unique<worker_state>());
    for (int i = 0; i < settings_.workers; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
    wake_sub_ = nats_.subscribe(std::string(bus::subjects::k_dispatch_wake),
                                [this](bus::message&& m) { on_wake(std::move(m)); });
    // A queue group: each of logic's pushes is published once, by one dispatcher.
    push_sub_ = nats_.queue_subscribe(std::string(bus::subjects::k_dispatch_push),
                                      std::string(bus::subjects::k_dispatcher_queue),
                                      [this](bus::message&& m) { on_routed_push(std::move(m)); });
    log_->info("dispatcher draining with {} workers", settings_.workers);
}

dispatcher_service::~dispatcher_service() { stop(); }

void dispatcher_service::stop() {
    if (stopping_.exchange(true)) return;
    push_sub_.drain();
    wake_sub_ = bus::subscription();
    for (auto& s : states_) {
        std::lock_guard lock(s->mutex);
        s->wake.notify_all();
    }
    for (auto& w : workers_) w.join();
    nats_.drain(std::chrono::seconds(5));
    log_->info("dispatcher stopped");
}

void dispatcher_service::on_wake(bus::message&& m) {
    proto::Wake wake;
    if (!wake.ParseFromArray(m.data().data(), static_cast<int>(m.data().size()))) return;
    for (int p : wake.partitions()) {
        if (p < 0 || p >= k_max_partitions) continue;
        const int w = owner_[p].load();
        if (w < 0) continue;  // owned by another dispatcher, which got the same wake-up
        auto& s = *states_[w];
        {
            std::lock_guard lock(s.mutex);
            s.dirty.insert(p);
        }
        s.wake.notify_one();
    }
}

void dispatcher_service::on_routed_push(bus::message&& m) {
    proto::RoutedPush routed;
    if (!routed.ParseFromArray(m.data().data(), static_cast<int>(m.data().size())) ||
        !bus::subjects::valid_broker_id(routed.broker_id())) {
        log_->warn("undecodable push on {}", m.subject());
        return;
    }
    // A kick or a resync, at most once as when logic published it itself.
    try {
        nats_.publish(bus::subjects::broker_push(routed.broker_id()), routed.push().SerializeAsString());
    } catch (const bus::nats_error& e) {
        log_->warn("publishing a push for broker {} failed: {}", routed.broker_id(), e.what());
    }
}

std::string dispatcher_service::readiness() const {
    if (!nats_.connected()) return "not connected to NATS";
    if (drainers_connected_ == 0) return "not connected to PostgreSQL";
    return {};
}

void dispatcher_service::set_owner(int partition, int worker) {
    if (partition >= 0 && partition < k_max_partitions) owner_[partition] = worker;
}

void dispatcher_service::worker_loop(int index) {
    while (!stopping_) {
        try {
            run_drainer(index);
        } catch (const std::exception& e) {
            log_->warn("drainer {} lost its database connection ({}); reconnecting", index, e.what());
        }
        for (auto& o : owner_) {
            int expected = index;
            o.compare_exchange_strong(expected, -1);
        }
    }
}

void dispatcher_service::run_drainer(int index) {
    auto conn = db::connect_with_retry(settings_.postgres.url, stopping_, *log_);
    if (!conn) return;
    drainer d(std::move(conn), settings_.batch_max);
    ++drainers_connected_;
    struct connected_guard {
        std::atomic<int>& count;
        ~connected_guard() { --count; }
    } connected{drainers_connected_};
    auto& state = *states_[index];
    auto next_rebalance = clock::now();
    auto next_sweep = clock::now() + settings_.sweep_interval;
    while (!stopping_) {
        std::set<int> work;
        if (clock::now() >= next_rebalance) {
            std::set<int> gained, lost;
            d.rebalance(gained, lost);
            for (int p : lost) set_owner(p, -1);
            for (int p : gained) set_owner(p, index);
            if (!gained.empty() || !lost.empty())
                log_->info("drainer {} owns {} of {} partitions (+{} -{})", index, d.owned().size(), d.partitions(),
                           gained.size(), lost.size());
            work.insert(gained.begin(), gained.end());  // rows may have waited while nobody owned them
            next_rebalance = clock::now() + settings_.rebalance_interval;
        }
        if (clock::now() >= next_sweep) {
            work.insert(d.owned().begin(), d.owned().end());
            next_sweep = clock::now() + settings_.sweep_interval;
            if (index == 0) recorded_.inbox_rows(d.inbox_rows());  // one count per process
        }
        {
            std::lock_guard lock(state.mutex);
            work.insert(state.dirty.begin(), state.dirty.end());
            state.dirty.clear();
        }
        std::erase_if(work, [&](int p) { return !d.owned().count(p); });
        if (!work.empty()) {
            try {
                while (d.drain(work, nats_, &recorded_) == settings_.batch_max && !stopping_) {
                }
            } catch (const bus::nats_error& e) {
                // Rows stay in the inbox; the next wake-up or sweep delivers them.
                log_->warn("publishing pushes failed: {}", e.what());
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
            }
        }
        std::unique_lock lock(state.mutex);
        state.wake.wait_until(lock, std::min(next_rebalance, next_sweep),
                              [&] { return stopping_ || !state.dirty.empty(); });
    }
}

int run_dispatcher(const config::source& config) {
    return util::serve_until_stopped("finishing the drains under way", [&] {
        auto settings = load_dispatcher_settings(config);
        auto log = log::make_service_logger("dispatcher", settings.log.level, settings.log.format);
        return std::make_pair(std::make_unique<dispatcher_service>(settings, log), log);
    });
}

}  // namespace chat::dispatcher
