#include "deploy/stack/bus_users.hpp"


#include <stdexcept>

#include "deploy/stack/files.hpp"
#include "shared/bus/subjects.hpp"

namespace chat::stack {
namespace {

namespace subjects = bus::subjects;

std::string s(std::string_view v) { return std::string(v); }

}  // namespace

std::string broker_user_name(const std::string& broker_id) { return "broker-" + broker_id; }

std::vector<nats_user> bus_users(const std::vector<std::string>& broker_ids) {
    std::vector<nats_user> users;
    // A broker asks logic (requests on the command subjects, its hello among them) and
    // announces itself; it reads only its own pushes and the replies to its own inbox.
    // TYPING goes from broker to broker on chat.typing.<account> (never through logic):
    // every broker publishes and hears those. Whom it may show a TYPING is the receiving
    // broker's check (the sender must be the partner it knows for that session).
    for (const auto& id : broker_ids) {
        nats_user broker;
        broker.name = broker_user_name(id);
        broker.publish = {s(subjects::k_all_commands), s(subjects::k_broker_heartbeat), s(subjects::k_all_typing)};
        broker.subscribe = {subjects::broker_push(id), subjects::broker_inbox(id) + ".>", s(subjects::k_all_typing)};
        users.push_back(std::move(broker));
    }
    // Logic serves the commands and hears the heartbeats, both only in its queue group;
    // it answers requests (allow_responses: only the reply subject of a request it got,
    // once) and wakes the dispatcher or hands it a push. It cannot publish a push.
    nats_user logic;
    logic.name = k_logic_user;
    logic.publish = {s(subjects::k_dispatch_wake), s(subjects::k_dispatch_push)};
    logic.subscribe = {s(subjects::k_all_commands) + " " + s(subjects::k_logic_queue),
                       s(subjects::k_broker_heartbeat) + " " + s(subjects::k_logic_queue)};
    logic.allow_responses = true;
    users.push_back(std::move(logic));
    // The dispatcher hears the wake-ups (every dispatcher) and logic's pushes (one of
    // them, in its queue group) and is the one publisher of pushes; it answers nothing.
    nats_user dispatcher;
    dispatcher.name = k_dispatcher_user;
    dispatcher.publish = {subjects::broker_push("*")};
    dispatcher.subscribe = {s(subjects::k_dispatch_wake),
                            s(subjects::k_dispatch_push) + " " + s(subjects::k_dispatcher_queue)};
    users.push_back(std::move(dispatcher));
    return users;
}

void load_or_make_passwords(std::vector<nats_user>& users,
                            const std::filesystem::path& secrets_dir) {
    make_private_dir(secrets_dir);
    for (auto& user : users) {
        user.password_file = secrets_dir / ("nats-" + user.name + ".password");
        auto text = read_file(user.password_file);
        user.password = text.substr(0, text.find('\n'));
        if (user.password.empty()) {
            user.password = random_secret();
            write_private_file(user.password_file, user.password + "\n");
        }
    }
}

}  // namespace chat::stack
