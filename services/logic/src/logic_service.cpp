#include "logic_service.hpp"

#include <algorithm>
#include <chrono>

#include "shared/bus/subjects.hpp"
#include "shared/db/connect.hpp"
#include "shared/log/logger.hpp"
#include "shared/util/stop_signal.hpp"

namespace chat::logic {

namespace subjects = bus::subjects;

logic_service::logic_service(logic_settings settings, std::shared_ptr<spdlog::logger> log)
    : settings_(std::move(settings)),
      log_(std::move(log)),
      nats_({settings_.nats.url, "chat-logic"}, log_) {
    for (int i = 0; i < settings_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
    reaper_ = std::thread([this] { reaper_loop(); });
    command_sub_ = nats_.queue_subscribe(std::string(subjects::k_all_commands), std::string(subjects::k_logic_queue),
                                         [this](bus::message&& m) { on_command(std::move(m)); });
    heartbeat_sub_ =
        nats_.queue_subscribe(std::string(subjects::k_broker_heartbeat), std::string(subjects::k_logic_queue),
                              [this](bus::message&& m) { on_heartbeat(std::move(m)); });
    log_->info("logic serving {} with {} workers", subjects::k_all_commands, settings_.workers);
}

logic_service::~logic_service() { stop(); }

void logic_service::stop() {
    if (stop_flag_.exchange(true)) return;
    command_sub_.drain();
    heartbeat_sub_.drain();
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_ready_.notify_all();
    reaper_wake_.notify_all();
    for (auto& w : workers_) w.join();
    reaper_.join();
    nats_.drain(std::chrono::seconds(5));
    log_->info("logic stopped");
}

void logic_service::on_command(bus::message&& m) {
    job j;
    j.reply_to = std::string(m.reply());
    if (!j.request.ParseFromArray(m.data().data(), static_cast<int>(m.data().size()))) {
        log_->warn("undecodable command on {}", m.subject());
        if (!j.reply_to.empty()) reply(j.reply_to, error_reply(wire::code::param_error, "undecodable command"));
        return;
    }
    enqueue(std::move(j));
}

void logic_service::on_heartbeat(bus::message&& m) {
    proto::BrokerHeartbeat hb;
    if (!hb.ParseFromArray(m.data().data(), static_cast<int>(m.data().size())) || hb.broker_id().empty()) {
        log_->warn("undecodable broker heartbeat");
        return;
    }
    std::lock_guard lock(heard_mutex_);
    heard_[hb.broker_id()] = hb.epoch();
}

void logic_service::record_heartbeats(store& db) {
    std::map<std::string, std::string> heard;
    {
        std::lock_guard lock(heard_mutex_);
        heard.swap(heard_);
    }
    for (auto it = heard.begin(); it != heard.end(); ++it) {
        try {
            db.broker_heartbeat(it->first, it->second);
        } catch (...) {
            // Keep what was not recorded (unless a newer one came meanwhile) and say so: the
            // brokers are not judged until heartbeats are recorded again.
            note_heartbeat_trouble();
            std::lock_guard lock(heard_mutex_);
            for (; it != heard.end(); ++it) heard_.try_emplace(it->first, it->second);
            throw;
        }
    }
}

namespace {

// MATCHes in one transaction at most: enough to share a commit among the matchers of a
// busy moment, few enough that a rare deadlock with another group redoes little.
constexpr std::size_t k_match_group_max = 32;
// ACK frames in one transaction at most (each moves a few rows; they never conflict).
constexpr std::size_t k_ack_group_max = 128;

}  // namespace

void logic_service::enqueue(job j) {
    const auto body = j.request.body_case();
    const auto kind = body == proto::Request::kDialogue ? queue_kind::dialogues
                      : body == proto::Request::kMatch  ? queue_kind::matches
                      : body == proto::Request::kAck    ? queue_kind::acks
                                                        : queue_kind::commands;
    {
        std::lock_guard lock(mutex_);
        if (kind == queue_kind::dialogues) queued_dialogue_items_ += j.request.dialogue().items_size();
        queues_[static_cast<int>(kind)].push_back(std::move(j));
    }
    work_ready_.notify_one();
}

bool logic_service::next_work(std::vector<job>& taken, queue_kind& kind) {
    std::unique_lock lock(mutex_);
    // DIALOGUEs wait while enough of their transactions are in flight: they go together
    // in the next one (group commit) instead of each in a transaction of its own. A full
    // batch never waits, so throughput does not hang on a few slow commits.
    auto ready = [this](int index) {
        return !queues_[index].empty() && (index != static_cast<int>(queue_kind::dialogues) ||
                                           dialogue_transactions_ < settings_.dialogue_transactions ||
                                           queued_dialogue_items_ >= settings_.dialogue_batch_max);
    };
    auto any_ready = [&] {
        for (int i = 0; i < k_queue_kinds; ++i)
            if (ready(i)) return true;
        return false;
    };
    // Stopping: a worker leaves once nothing is ready for it; queued DIALOGUEs are then
    // taken by a worker whose DIALOGUE transaction ends (it comes back here).
    work_ready_.wait(lock, [&] { return stopping_ || any_ready(); });
    if (!any_ready()) return false;
    int index = turn_;
    while (!ready(index)) index = (index + 1) % k_queue_kinds;
    turn_ = (index + 1) % k_queue_kinds;
    kind = static_cast<queue_kind>(index);
    auto& queue = queues_[index];
    switch (kind) {
        case queue_kind::dialogues: {
            // Everything queued, up to the batch limit in messages.
            ++dialogue_transactions_;
            int items = 0;
            while (!queue.empty()) {
                const int next = queue.front().request.dialogue().items_size();
                if (items > 0 && items + next > settings_.dialogue_batch_max) break;
                items += next;
                queued_dialogue_items_ -= next;
                taken.push_back(std::move(queue.front()));
                queue.pop_front();
            }
            break;
        }
        case queue_kind::matches:
        case queue_kind::acks: {
            const auto most = kind == queue_kind::matches ? k_match_group_max : k_ack_group_max;
            while (!queue.empty() && taken.size() < most) {
                taken.push_back(std::move(queue.front()));
                queue.pop_front();
            }
            break;
        }
        case queue_kind::commands:
            taken.push_back(std::move(queue.front()));
            queue.pop_front();
            break;
    }
    return true;
}

void logic_service::work_done(queue_kind kind) {
    if (kind != queue_kind::dialogues) return;
    {
        std::lock_guard lock(mutex_);
        --dialogue_transactions_;
    }
    work_ready_.notify_one();  // DIALOGUEs may be waiting for this transaction to end
}

void logic_service::worker_loop() {
    std::unique_ptr<store> db;
    std::unique_ptr<command_handler> handler;
    std::vector<job> jobs;
    queue_kind kind{};
    while (true) {
        if (!db) {
            auto conn = db::connect_with_retry(settings_.postgres.url, stop_flag_, *log_);
            if (!conn) {
                // Stopping before the database came back: refuse what is queued so no
                // broker waits for a reply that will never come.
                while (next_work(jobs, kind)) {
                    for (auto& j : jobs)
                        if (!j.reply_to.empty()) reply(j.reply_to, error_reply(wire::code::internal_error, "logic is stopping"));
                    jobs.clear();
                    work_done(kind);
                }
                return;
            }
            try {
                db = std::make_unique<store>(std::move(conn), presence_policy{settings_.grace, settings_.token_ttl});
                handler = std::make_unique<command_handler>(*db);
                note_heartbeat_trouble();  // heartbeats queued while we were away may have failed
            } catch (const std::exception& e) {
                log_->error("cannot prepare the database connection: {}", e.what());
                db.reset();
                std::this_thread::sleep_for(std::chrono::seconds(1));
                continue;
            }
        }
        jobs.clear();
        if (!next_work(jobs, kind)) return;
        struct done_guard {
            logic_service& self;
            queue_kind kind;
            ~done_guard() { self.work_done(kind); }
        } done{*this, kind};
        try {
            switch (kind) {
                case queue_kind::dialogues:
                    run_grouped(*handler, &command_handler::handle_dialogues, jobs, "dialogue");
                    break;
                case queue_kind::matches:
                    run_grouped(*handler, &command_handler::handle_matches, jobs, "match");
                    break;
                case queue_kind::acks:
                    run_grouped(*handler, &command_handler::handle_acks, jobs, "ack");
                    break;
                case queue_kind::commands:
                    run_command(*handler, jobs.front());
                    break;
            }
            if (!db->connection().is_open()) {
                // The server ended the session (e.g. it is shutting down): the commands got
                // code 2 already; reconnect before the next one.
                log_->warn("the PostgreSQL connection closed; reconnecting");
                handler.reset();
                db.reset();
            }
        } catch (const pqxx::broken_connection& e) {
            // The transaction may or may not have committed; code 2 tells the client to
            // retry, which is safe (a DIALOGUE resend is idempotent).
            log_->warn("lost the PostgreSQL connection: {}; reconnecting", e.what());
            const auto failed = error_reply(wire::code::internal_error, "database unavailable, retry");
            for (auto& j : jobs)
                if (!j.reply_to.empty()) reply(j.reply_to, failed);
            handler.reset();
            db.reset();
        }
    }
}

void logic_service::run_grouped(command_handler& handler, grouped_handler handle, std::vector<job>& jobs,
                                const char* what) {
    std::vector<const proto::Request*> requests;
    for (const auto& j : jobs) requests.push_back(&j.request);
    side_effects effects;
    std::vector<proto::Reply> replies;
    try {
        replies = (handler.*handle)(requests, effects);
    } catch (const pqxx::broken_connection&) {
        throw;
    } catch (const std::exception& e) {
        log_->error("{} {} requests in one transaction failed: {}", jobs.size(), what, e.what());
        replies.assign(jobs.size(), error_reply(wire::code::internal_error, "internal error, retry"));
        effects = side_effects();
        for (std::size_t i = 0; jobs.size() > 1 && i < jobs.size(); ++i) {
            try {
                replies[i] = (handler.*handle)({requests[i]}, effects).front();
            } catch (const pqxx::broken_connection&) {
                throw;
            } catch (const std::exception& alone) {
                log_->error("{} request from {} failed alone: {}", what, jobs[i].request.origin().conn_key(), alone.what());
            }
        }
    }
    publish_effects(effects);
    for (std::size_t i = 0; i < jobs.size(); ++i)
        if (!jobs[i].reply_to.empty()) reply(jobs[i].reply_to, replies[i]);
}

void logic_service::run_command(command_handler& handler, job& j) {
    side_effects effects;
    proto::Reply r;
    try {
        r = handler.handle(j.request, effects);
    } catch (const pqxx::broken_connection&) {
        throw;
    } catch (const std::exception& e) {
        log_->error("command {} failed: {}", static_cast<int>(j.request.body_case()), e.what());
        r = error_reply(wire::code::internal_error, "internal error, retry");
    }
    publish_effects(effects);
    if (!j.reply_to.empty()) reply(j.reply_to, r);
}

void logic_service::note_heartbeat_trouble() {
    heartbeat_trouble_at_ = std::chrono::steady_clock::now().time_since_epoch().count();
}

void logic_service::reaper_loop() {
    using clock = std::chrono::steady_clock;
    std::unique_ptr<store> db;
    // A broker's last heartbeat in the database is only evidence once heartbeats could be
    // heard (NATS up) and recorded (PostgreSQL up) for a full timeout: after this process
    // started, NATS came back, or the database came back, judge nobody until then.
    std::optional<clock::time_point> hearing_since;
    clock::time_point db_since{};
    while (!stop_flag_) {
        const auto now = clock::now();
        if (!nats_.connected())
            hearing_since.reset();
        else if (!hearing_since)
            hearing_since = now;
        const auto trouble = clock::time_point(clock::duration(heartbeat_trouble_at_.load()));
        const bool may_judge = hearing_since && now - std::max({*hearing_since, db_since, trouble}) >= settings_.broker_timeout;
        try {
            if (!db) {
                auto conn = db::connect_with_retry(settings_.postgres.url, stop_flag_, *log_);
                if (!conn) return;
                db = std::make_unique<store>(std::move(conn), presence_policy{settings_.grace, settings_.token_ttl});
                db_since = clock::now();
                continue;  // judged no earlier than a full timeout from now
            }
            record_heartbeats(*db);
            // The grace runs out on the database clock, whoever is hearing what.
            side_effects expired;
            if (const int ended = db->expire_away(expired.woken); ended > 0)
                log_->info("the grace ran out for {} away accounts; their sessions ended", ended);
            publish_effects(expired);
            if (may_judge) {
                side_effects effects;
                std::vector<std::string> reaped;
                if (const int taken = db->reap_dead_brokers(settings_.broker_timeout, effects.woken, reaped); taken > 0)
                    log_->info("{} accounts of silent brokers are away", taken);
                // If such a broker is alive after all (its heartbeats were late), it resumes
                // its connections, which brings their accounts back.
                for (const auto& broker_id : reaped) {
                    proto::Push resync;
                    resync.set_resync(true);
                    effects.pushes.emplace_back(broker_id, std::move(resync));
                }
                publish_effects(effects);
            }
        } catch (const pqxx::broken_connection& e) {
            log_->warn("reaper lost the PostgreSQL connection: {}", e.what());
            db.reset();
            note_heartbeat_trouble();
        } catch (const std::exception& e) {
            log_->error("reaping dead brokers failed: {}", e.what());
        }
        std::unique_lock lock(mutex_);
        reaper_wake_.wait_for(lock, settings_.sweep_interval, [this] { return stopping_; });
    }
}

void logic_service::publish_effects(const side_effects& effects) {
    try {
        if (!effects.woken.empty()) {
            proto::Wake wake;
            for (int p : effects.woken) wake.add_partitions(p);
            nats_.publish(std::string(subjects::k_dispatch_wake), wake.SerializeAsString());
        }
        for (const auto& [broker_id, push] : effects.pushes)
            nats_.publish(subjects::broker_push(broker_id), push.SerializeAsString());
    } catch (const std::exception& e) {
        // The dispatcher's periodic sweep still delivers what a lost wake-up announced.
        log_->warn("publishing after commit failed: {}", e.what());
    }
}

void logic_service::reply(const std::string& to, const proto::Reply& r) {
    try {
        nats_.publish(to, r.SerializeAsString());
    } catch (const std::exception& e) {
        log_->warn("reply to {} failed: {}", to, e.what());
    }
}

int run_logic(const config::source& config) {
    util::block_stop_signals();
    auto settings = load_logic_settings(config);
    auto log = log::make_service_logger("logic", settings.log.level);
    logic_service service(settings, log);
    const int sig = util::wait_for_stop_signal();
    log->info("signal {}: finishing in-flight commands", sig);
    service.stop();
    return 0;
}

}  // namespace chat::logic
