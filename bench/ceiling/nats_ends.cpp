#include "bench/ceiling/nats_ends.hpp"

#include <sys/prctl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "bench/ceiling/options.hpp"
#include "bench/ceiling/proc_cpu.hpp"
#include "bench/ceiling/recording.hpp"
#include "services/broker/src/settings.hpp"
#include "services/dispatcher/src/drainer.hpp"
#include "shared/bus/requester.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/log/logger.hpp"
#include "shared/proto/chat.pb.h"
#include "shared/util/token.hpp"

namespace chat::bench::ceiling {
namespace {

namespace subjects = bus::subjects;
using clock = std::chrono::steady_clock;

struct end_args {
    std::string role, nats_url, recording, broker_id, subject_prefix;
    std::size_t window = 128;
};

end_args parse_end_args(const std::vector<std::string>& args) {
    end_args a;
    if (args.empty()) throw usage_error("nats-end needs a role");
    a.role = args[0];
    const bool complete = for_each_flag(
        {args.begin() + 1, args.end()}, [&](const std::string& flag, const flag_value& value) {
            if (flag == "--nats-url")
                a.nats_url = value();
            else if (flag == "--recording")
                a.recording = value();
            else if (flag == "--broker-id")
                a.broker_id = value();
            else if (flag == "--subject-prefix")
                a.subject_prefix = value();
            else if (flag == "--window")
                a.window = parse_integer<std::size_t>(flag, value(), 1);
            else
                throw usage_error("nats-end: unknown option " + flag);
        });
    if (!complete) throw usage_error("nats-end takes no --help");
    return a;
}

/// Waits for a line on stdin; false at end of input.
bool expect(const std::string& word) {
    std::string line;
    while (std::getline(std::cin, line))
        if (line == word) return true;
    return false;
}

/// Counts toward a target; the main thread waits for it (or for the first failure).
class progress {
  public:
    void add(std::uint64_t n = 1) {
        std::lock_guard lock(mutex_);
        count_ += n;
        if (count_ >= target_) done_.notify_all();
    }
    void fail(const std::string& why) {
        std::lock_guard lock(mutex_);
        if (error_.empty()) error_ = why;
        done_.notify_all();
    }
    void set_target(std::uint64_t target) {
        std::lock_guard lock(mutex_);
        target_ = target;
    }
    /// Empty on success, else why not.
    std::string wait(std::chrono::seconds timeout) {
        std::unique_lock lock(mutex_);
        if (!done_.wait_for(lock, timeout, [&] { return count_ >= target_ || !error_.empty(); }))
            return "timed out at " + std::to_string(count_) + " of " + std::to_string(target_);
        return error_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable done_;
    std::uint64_t count_ = 0, target_ = 0;
    std::string error_;
};

template <typename Message>
std::vector<Message> parse_all(const std::vector<std::string>& payloads) {
    std::vector<Message> out(payloads.size());
    for (std::size_t i = 0; i < payloads.size(); ++i)
        if (!out[i].ParseFromString(payloads[i]))
            throw std::runtime_error("undecodable recorded payload");
    return out;
}

constexpr auto k_timeout = std::chrono::seconds(600);

/// Runs `work` (this end's share; it returns why it failed, or "") between "go" and
/// "done", reporting the process's CPU meanwhile.
int serve(bus::connection& nats, const std::function<std::string()>& work) {
    // Connected, and the server knows our subscriptions.
    nats.flush(std::chrono::seconds(10));
    std::cout << "ready" << std::endl;
    if (!expect("go")) return 1;
    const auto cpu_before = this_process_cpu_ns();
    const auto wall_before = clock::now();
    auto error = work();
    try {
        nats.flush(std::chrono::seconds(10));  // what we published has left
    } catch (const std::exception& e) {
        if (error.empty()) error = e.what();
    }
    const auto cpu = this_process_cpu_ns() - cpu_before;
    nlohmann::json report = {
        {"cpu_ns", cpu},
        {"seconds", std::chrono::duration<double>(clock::now() - wall_before).count()},
        {"error", error}};
    std::cout << "done " << report.dump() << std::endl;
    expect("stop");
    return error.empty() ? 0 : 1;
}

// The broker: bus::requester as ws_connection::ask_logic uses it (encode the
// request, decode the reply on the NATS thread), and broker_service::on_push's decode.
int broker_end(const end_args& a, const recording& rec) {
    auto requests = parse_all<proto::Request>(rec.requests);
    const broker::broker_settings defaults;
    auto log = log::make_service_logger("chat-broker", "warn");
    bus::connection nats({a.nats_url, "chat-broker-" + a.broker_id}, log);
    bus::requester requester(nats, "_INBOX.broker." + a.broker_id + "." + util::random_hex(8));
    progress replies, deliveries;
    replies.set_target(requests.size());
    deliveries.set_target(rec.deliveries);
    auto pushes = nats.subscribe(subjects::broker_push(a.broker_id), [&](bus::message&& m) {
        proto::Push push;
        if (!push.ParseFromArray(m.data().data(), static_cast<int>(m.data().size())))
            return deliveries.fail("undecodable push");
        deliveries.add(static_cast<std::uint64_t>(push.deliveries_size()));
    });

    std::atomic<std::size_t> next{0};
    std::function<void()> send_next = [&] {
        const auto i = next++;
        if (i >= requests.size()) return;
        requester.request(a.subject_prefix + std::string(subjects::k_dialogue),
                          requests[i].SerializeAsString(), defaults.request_timeout,
                          [&](bus::request_status status, std::string_view data) {
                              proto::Reply reply;
                              if (status != bus::request_status::replied ||
                                  !reply.ParseFromArray(data.data(), static_cast<int>(data.size())))
                                  return replies.fail("a DIALOGUE request got no usable reply");
                              replies.add();
                              send_next();
                          });
    };
    // Done when every reply and every delivery is in.
    return serve(nats, [&] {
        for (std::size_t i = 0; i < a.window; ++i) send_next();
        auto error = replies.wait(k_timeout);
        return error.empty() ? deliveries.wait(k_timeout) : error;
    });
}

// Logic: logic_service::on_command's decode, then the reply (and after each batch the
// wake-up) encoded and published as logic_service::reply and publish_effects do.
int logic_end(const end_args& a, const recording& rec) {
    const auto replies = parse_all<proto::Reply>(rec.replies);
    const auto wakes = parse_all<proto::Wake>(rec.wakes);
    auto log = log::make_service_logger("chat-logic", "warn");
    bus::connection nats({a.nats_url, "chat-logic"}, log);
    progress answered;
    answered.set_target(replies.size());
    std::size_t handled = 0, woken = 0;  // the subscription's one delivery thread touches these
    auto commands = nats.queue_subscribe(
        a.subject_prefix + std::string(subjects::k_all_commands),
        std::string(subjects::k_logic_queue), [&](bus::message&& m) {
            proto::Request request;
            if (!request.ParseFromArray(m.data().data(), static_cast<int>(m.data().size())) ||
                handled >= replies.size())
                return answered.fail("unexpected command");
            nats.publish(std::string(m.reply()), replies[handled++].SerializeAsString());
            if (woken < wakes.size() && handled == rec.wake_after[woken])
                nats.publish(a.subject_prefix + std::string(subjects::k_dispatch_wake),
                             wakes[woken++].SerializeAsString());
            answered.add();
        });
    return serve(nats, [&] { return answered.wait(k_timeout); });
}

// The dispatcher: drainer::drain's publish_pushes per drain (publish each push, then flush),
// and dispatcher_service::on_wake's decode and hand-off to a worker's dirty set.
int dispatcher_end(const end_args& a, const recording& rec) {
    auto log = log::make_service_logger("chat-dispatcher", "warn");
    bus::connection nats({a.nats_url, "chat-dispatcher"}, log);
    progress wakes;
    wakes.set_target(rec.wakes.size());
    std::mutex dirty_mutex;
    std::condition_variable dirty_wake;
    std::set<int> dirty;
    auto wake_sub = nats.subscribe(
        a.subject_prefix + std::string(subjects::k_dispatch_wake), [&](bus::message&& m) {
            proto::Wake wake;
            if (!wake.ParseFromArray(m.data().data(), static_cast<int>(m.data().size())))
                return wakes.fail("undecodable wake-up");
            {
                std::lock_guard lock(dirty_mutex);
                for (int p : wake.partitions()) dirty.insert(p);
            }
            dirty_wake.notify_one();
            wakes.add();
        });
    return serve(nats, [&]() -> std::string {
        try {
            for (const auto& drain : rec.drains) dispatcher::publish_pushes(nats, drain);
        } catch (const std::exception& e) {
            return e.what();
        }
        return wakes.wait(k_timeout);
    });
}

}  // namespace

int run_nats_end(const std::vector<std::string>& args) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive chat-ceiling
    const auto a = parse_end_args(args);
    const auto rec = read_recording(a.recording);
    if (a.role == "broker") return broker_end(a, rec);
    if (a.role == "logic") return logic_end(a, rec);
    if (a.role == "dispatcher") return dispatcher_end(a, rec);
    throw usage_error("nats-end: unknown role " + a.role);
}

}  // namespace chat::bench::ceiling
