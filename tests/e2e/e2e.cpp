#include "tests/e2e/e2e.hpp"

#include <algorithm>

namespace chat::test::e2e {

int code_of(const json& response) {
    if (!response.is_object() || !response.contains("code") ||
        !response["code"].is_number_integer()) {
        return -1;
    }
    return response["code"].get<int>();
}

frame_predicate push_dialogue(std::int64_t session_id) {
    return [session_id](const json& f) {
        return f.value("cmd", json()) == "PUSH_DIALOGUE" &&
               f.value("sessionId", json()) == session_id;
    };
}

frame_predicate push_dialogue(std::int64_t session_id, std::int64_t msg_id) {
    return [session_id, msg_id](const json& f) {
        return f.value("cmd", json()) == "PUSH_DIALOGUE" &&
               f.value("sessionId", json()) == session_id && f.value("msgId", json()) == msg_id;
    };
}

frame_predicate signal(const std::string& type, std::int64_t session_id) {
    return [type, session_id](const json& f) {
        return f.value("cmd", json()) == "PUSH_SIGNAL" && f.value("signalType", json()) == type &&
               f.value("sessionId", json()) == session_id;
    };
}

frame_predicate viewed_push(std::int64_t session_id) {
    return [session_id](const json& f) {
        return f.value("cmd", json()) == "PUSH_VIEWED_ACK" &&
               f.value("sessionId", json()) == session_id;
    };
}

frame_predicate any_push() {
    return [](const json& f) {
        auto cmd = f.value("cmd", json());
        return cmd.is_string() && cmd.get<std::string>().rfind("PUSH_", 0) == 0;
    };
}

json expect_push(ws_client& client, const frame_predicate& predicate, const std::string& what,
                 std::chrono::milliseconds timeout) {
    auto frame = client.wait_push(predicate, timeout);
    if (!frame) {
        FAIL("no " << what << " within " << timeout.count() << " ms\n" << client.describe());
    }
    return *frame;
}

void expect_no_push(ws_client& client, const frame_predicate& predicate, const std::string& what,
                    std::chrono::milliseconds quiet) {
    auto frame = client.wait_push(predicate, quiet);
    if (frame) FAIL("unexpected " << what << ": " << frame->dump());
}

void check_error(const json& response, const std::string& cmd, int code) {
    INFO("response: " << response.dump());
    CHECK(response.value("cmd", json()) == cmd);
    CHECK(code_of(response) == code);
    CHECK(response.contains("msg"));
    CHECK(response.value("msg", json()).is_string());
    CHECK_FALSE(response.value("msg", std::string()).empty());
}

void check_connection_works(ws_client& client) {
    INFO(client.describe());
    REQUIRE(client.is_open());
    auto pong = client.ping();
    CHECK(pong.value("cmd", json()) == "PONG");
    CHECK(pong.value("accountId", json(-1)) == client.account_id());
}

void check_services_alive(service_stack& stack) {
    auto dead = stack.dead_services();
    INFO(dead);
    CHECK(dead.empty());
}

std::int64_t match_expecting(ws_client& a, ws_client& b) {
    auto response = a.match();
    INFO("MATCH response: " << response.dump());
    REQUIRE(code_of(response) == 0);
    REQUIRE(response.value("partnerId", json()) == b.account_id());
    REQUIRE(response.value("sessionId", json()).is_number_integer());
    auto session = response["sessionId"].get<std::int64_t>();
    expect_push(b, signal("NewSession", session),
                "NewSession push for session " + std::to_string(session));
    return session;
}

stack_options two_of_everything() {
    stack_options options;
    options.brokers = 2;
    options.logics = 2;
    options.dispatchers = 2;
    options.logic_workers = 2;
    options.dispatcher_workers = 1;
    return options;
}

matched_pair make_pair(service_stack& stack, std::size_t broker_a, std::size_t broker_b,
                       const std::string& nick_a, const std::string& nick_b) {
    matched_pair pair;
    pair.a = stack.connect(broker_a);
    pair.b = stack.connect(broker_b);
    pair.alice = pair.a->create_account(nick_a);
    pair.bob = pair.b->create_account(nick_b);
    pair.session = match_expecting(*pair.a, *pair.b);
    return pair;
}

std::string burst_content(const std::string& prefix, int i) {
    return prefix + " message " + std::to_string(i);
}

void send_dialogues(ws_client& client, std::int64_t session_id, int count,
                    const std::string& prefix) {
    for (int i = 0; i < count; ++i) {
        client.send({{"cmd", "DIALOGUE"},
                     {"requestId", prefix + std::to_string(i)},
                     {"senderId", client.account_id()},
                     {"sessionId", session_id},
                     {"content", burst_content(prefix, i)}});
    }
}

std::vector<std::int64_t> collect_responses(ws_client& client, int count,
                                            const std::string& prefix) {
    std::vector<std::int64_t> msg_ids;
    for (int i = 0; i < count; ++i) {
        auto response = client.wait_response("DIALOGUE", 30s, json(prefix + std::to_string(i)));
        INFO("response " << i << ": " << response.dump());
        REQUIRE(code_of(response) == 0);
        REQUIRE(response.value("requestId", json()) == prefix + std::to_string(i));
        REQUIRE(response.value("msgId", json()).is_number_integer());
        msg_ids.push_back(response["msgId"].get<std::int64_t>());
    }
    return msg_ids;
}

std::vector<std::int64_t> send_burst(ws_client& client, std::int64_t session_id, int count,
                                     const std::string& prefix) {
    send_dialogues(client, session_id, count, prefix);
    return collect_responses(client, count, prefix);
}

std::vector<json> collect_dialogue(ws_client& client, std::int64_t session_id, std::size_t count,
                                   std::chrono::milliseconds timeout) {
    std::vector<json> pushes;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pushes.size() < count) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        auto frame = client.wait_push(push_dialogue(session_id), std::max(left, 0ms));
        if (!frame) {
            FAIL("only " << pushes.size() << " of " << count << " PUSH_DIALOGUEs of session "
                         << session_id << " arrived within " << timeout.count() << " ms\n"
                         << client.describe());
        }
        pushes.push_back(std::move(*frame));
    }
    return pushes;
}

}  // namespace chat::test::e2e
