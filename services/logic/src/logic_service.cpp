#include "services/logic/src/logic_service.hpp"

#include <chrono>
#include <memory>
#include <utility>

#include "services/logic/src/group_runner.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/db/connect.hpp"
#include "shared/log/logger.hpp"
#include "shared/util/backoff.hpp"
#include "shared/util/stop_signal.hpp"

namespace chat::logic {

namespace subjects = bus::subjects;
using clock = judging_window::clock;

logic_service::logic_service(logic_settings settings, std::shared_ptr<spdlog::logger> log)
    : settings_(std::move(settings)),
      log_(std::move(log)),
      nats_(bus::connection_options(settings_.nats, "chat-logic"), log_),
      scheduler_({.dialogue_batch_max = settings_.dialogue_batch_max,
                  .dialogue_transactions = settings_.dialogue_transactions,
                  .match_transactions = settings_.match_transactions}),
      judging_(settings_.broker_timeout) {
    if (settings_.http.port != 0) {
        status_ = std::make_unique<metrics::status_server>(settings_.http.address,
                                                           static_cast<unsigned short>(settings_.http.port), metrics_,
                                                           [this] { return readiness(); }, log_);
        log_->info("status on http://{}:{}/ (/metrics, /healthz, /readyz)", settings_.http.address, status_->port());
    }
    if (settings_.admin.port != 0) {
        const auto& admin = settings_.admin;
        moderation_ = std::make_unique<pg_moderation_store>(settings_.postgres.url);
        admin_api_ = std::make_unique<admin_api>(*moderation_, admin.token, admin.web_root, log_);
        admin_server_ = std::make_unique<http::server>(
            admin.address, static_cast<unsigned short>(admin.port),
            [this](const http::request& r) { return admin_api_->handle(r); }, log_);
        log_->info("moderation on http://{}:{}/moderation (API under /api/)", admin.address, admin_server_->port());
    }
    for (int i = 0; i < settings_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
    reaper_ = std::thread([this] { reaper_loop(); });
    if (settings_.retention.enabled)
        retention_ = std::make_unique<retention>(settings_.retention, settings_.postgres.url, recorded_, log_);
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
    scheduler_.stop();
    {
        std::lock_guard lock(reaper_mutex_);
        reaper_stopping_ = true;
    }
    reaper_wake_.notify_all();
    for (auto& w : workers_) w.join();
    reaper_.join();
    if (retention_) retention_->stop();
    admin_server_.reset();  // no request is answered from here on
    nats_.drain(std::chrono::seconds(5));
    log_->info("logic stopped");
}

void logic_service::on_command(bus::message&& m) {
    command_job j;
    j.reply_to = std::string(m.reply());
    if (!j.request.ParseFromArray(m.data().data(), static_cast<int>(m.data().size()))) {
        log_->warn("undecodable command on {}", m.subject());
        if (!j.reply_to.empty()) reply(j.reply_to, error_reply(wire::code::param_error, "undecodable command"));
        return;
    }
    scheduler_.push(std::move(j));
}

void logic_service::on_heartbeat(bus::message&& m) {
    proto::BrokerHeartbeat hb;
    if (!hb.ParseFromArray(m.data().data(), static_cast<int>(m.data().size())) || hb.broker_id().empty()) {
        log_->warn("undecodable broker heartbeat");
        return;
    }
    heartbeats_.heard(hb.broker_id(), hb.epoch());
}

void logic_service::worker_loop() {
    std::unique_ptr<store> db;
    std::unique_ptr<command_handler> handler;
    std::vector<command_job> jobs;
    work_kind kind{};
    while (true) {
        if (!db) {
            db = connect_worker();
            if (!db) {
                // Stopping before the database came back: refuse what is queued so no
                // broker waits for a reply that will never come.
                const auto stopping = error_reply(wire::code::internal_error, "logic is stopping");
                while (scheduler_.next(jobs, kind)) {
                    reply_all(jobs, stopping);
                    jobs.clear();
                    scheduler_.done(kind);
                }
                return;
            }
            handler = std::make_unique<command_handler>(*db);
        }
        jobs.clear();
        if (!scheduler_.next(jobs, kind)) return;
        struct done_guard {
            command_scheduler& scheduler;
            work_kind kind;
            ~done_guard() { scheduler.done(kind); }
        } done{scheduler_, kind};
        try {
            run_work(*handler, kind, jobs);
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
            reply_all(jobs, error_reply(wire::code::internal_error, "database unavailable, retry"));
            handler.reset();
            db.reset();
        }
    }
}

std::unique_ptr<store> logic_service::connect_worker() {
    // Preparing fails when the schema is not there yet (say, migrations still running).
    constexpr util::backoff prepare_retry(std::chrono::seconds(1), std::chrono::seconds(1));
    for (int failures = 0;; ++failures) {
        auto conn = db::connect_with_retry(settings_.postgres.url, stop_flag_, *log_);
        if (!conn) return nullptr;
        try {
            auto db = std::make_unique<store>(std::move(conn), settings_.presence, settings_.matching);
            judging_.heartbeat_trouble(clock::now());  // heartbeats queued while we were away may have failed
            return db;
        } catch (const std::exception& e) {
            log_->error("cannot prepare the database connection: {}", e.what());
            std::this_thread::sleep_for(prepare_retry.delay(failures));
        }
    }
}

void logic_service::run_work(command_handler& handler, work_kind kind, std::vector<command_job>& jobs) {
    const auto started = std::chrono::steady_clock::now();
    if (kind == work_kind::commands) {
        auto& j = jobs.front();
        side_effects effects;
        const auto r = run_alone<pqxx::broken_connection>(
            j.request, [&](const proto::Request& request, side_effects& e) { return handler.handle(request, e); },
            effects, *log_);
        recorded_.transaction("command", std::chrono::steady_clock::now() - started, 1);
        recorded_.answered(j.request, r);
        // The reply goes first: a push caused by this command (a NewSession for an
        // account just created) then reaches a broker that has bound the connection.
        if (!j.reply_to.empty()) reply(j.reply_to, r);
        publish_effects(effects);
        return;
    }
    using group_handler = std::vector<proto::Reply> (command_handler::*)(const std::vector<const proto::Request*>&,
                                                                        side_effects&);
    const group_handler handle = kind == work_kind::dialogues ? &command_handler::handle_dialogues
                                 : kind == work_kind::matches ? &command_handler::handle_matches
                                                              : &command_handler::handle_acks;
    const char* what = kind == work_kind::dialogues ? "dialogue" : kind == work_kind::matches ? "match" : "ack";
    std::vector<const proto::Request*> requests;
    for (const auto& j : jobs) requests.push_back(&j.request);
    const auto out = run_grouped<pqxx::broken_connection>(
        requests,
        [&](const std::vector<const proto::Request*>& group, side_effects& e) { return (handler.*handle)(group, e); },
        *log_, what);
    std::size_t size = jobs.size();
    if (kind == work_kind::dialogues) {
        size = 0;
        for (const auto& j : jobs) size += static_cast<std::size_t>(j.request.dialogue().items_size());
    }
    recorded_.transaction(what, std::chrono::steady_clock::now() - started, size);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        recorded_.answered(jobs[i].request, out.replies[i]);
        if (!jobs[i].reply_to.empty()) reply(jobs[i].reply_to, out.replies[i]);
    }
    publish_effects(out.effects);
}

void logic_service::reply_all(const std::vector<command_job>& jobs, const proto::Reply& r) {
    for (const auto& j : jobs)
        if (!j.reply_to.empty()) reply(j.reply_to, r);
}

void logic_service::reaper_loop() {
    std::unique_ptr<store> db;
    while (!stop_flag_) {
        const auto now = clock::now();
        judging_.observe_nats(nats_.connected(), now);
        const bool may_judge = judging_.may_judge(now);
        try {
            if (!db) {
                auto conn = db::connect_with_retry(settings_.postgres.url, stop_flag_, *log_);
                if (!conn) return;
                db = std::make_unique<store>(std::move(conn), settings_.presence, settings_.matching);
                judging_.database_up(clock::now());
                continue;  // judged no earlier than a full timeout from now
            }
            sweep(*db, may_judge);
            postgres_ok_ = true;
        } catch (const pqxx::broken_connection& e) {
            log_->warn("reaper lost the PostgreSQL connection: {}", e.what());
            postgres_ok_ = false;
            db.reset();
            judging_.heartbeat_trouble(clock::now());
        } catch (const std::exception& e) {
            log_->error("reaping dead brokers failed: {}", e.what());
        }
        std::unique_lock lock(reaper_mutex_);
        reaper_wake_.wait_for(lock, settings_.sweep_interval, [this] { return reaper_stopping_; });
    }
}

void logic_service::sweep(store& db, bool may_judge) {
    try {
        heartbeats_.record_all([&db](const std::string& broker_id, const std::string& epoch) {
            db.broker_heartbeat(broker_id, epoch);
        });
    } catch (...) {
        // The brokers are not judged until heartbeats are recorded again.
        judging_.heartbeat_trouble(clock::now());
        throw;
    }
    // The grace runs out on the database clock, whoever is hearing what.
    side_effects expired;
    if (const int ended = db.expire_away(expired.woken); ended > 0)
        log_->info("the grace ran out for {} away accounts; their sessions ended", ended);
    publish_effects(expired);
    side_effects paired;
    if (const int n = db.retry_waiters(paired.woken); n > 0) log_->debug("paired {} waiters on retry", n);
    publish_effects(paired);
    recorded_.waiting(db.waiting_count());
    if (!may_judge) return;
    side_effects effects;
    std::vector<std::string> reaped;
    if (const int taken = db.reap_dead_brokers(settings_.broker_timeout, effects.woken, reaped); taken > 0)
        log_->info("{} accounts of silent brokers are away", taken);
    // If such a broker is alive after all (its heartbeats were late), it resumes its
    // connections, which brings their accounts back.
    for (const auto& broker_id : reaped) {
        proto::Push resync;
        resync.set_resync(true);
        effects.pushes.emplace_back(broker_id, std::move(resync));
    }
    publish_effects(effects);
}

void logic_service::publish_effects(const side_effects& effects) {
    try {
        if (!effects.woken.empty()) {
            proto::Wake wake;
            for (int p : effects.woken) wake.add_partitions(p);
            nats_.publish(std::string(subjects::k_dispatch_wake), wake.SerializeAsString());
        }
        // Through the dispatcher: logic's NATS user may not publish pushes itself.
        for (const auto& [broker_id, push] : effects.pushes) {
            proto::RoutedPush routed;
            routed.set_broker_id(broker_id);
            *routed.mutable_push() = push;
            nats_.publish(std::string(subjects::k_dispatch_push), routed.SerializeAsString());
        }
    } catch (const std::exception& e) {
        // The dispatcher's periodic sweep still delivers what a lost wake-up announced.
        log_->warn("publishing after commit failed: {}", e.what());
    }
}

std::string logic_service::readiness() const {
    if (!nats_.connected()) return "not connected to NATS";
    if (!postgres_ok_) return "not connected to PostgreSQL";
    return {};
}

void logic_service::reply(const std::string& to, const proto::Reply& r) {
    try {
        nats_.publish(to, r.SerializeAsString());
    } catch (const std::exception& e) {
        log_->warn("reply to {} failed: {}", to, e.what());
    }
}

int run_logic(const config::source& config) {
    return util::serve_until_stopped("finishing in-flight commands", [&] {
        auto settings = load_logic_settings(config);
        auto log = log::make_service_logger("logic", settings.log.level, settings.log.format);
        return std::make_pair(std::make_unique<logic_service>(settings, log), log);
    });
}

}  // namespace chat::logic
