// Two brokers, two logic and two dispatcher processes at once: people on different
// brokers talk, every message arrives once and in order, concurrent MATCHes handled by
// different logic processes never pair anyone twice or with themself, and a broker
// stopped with SIGTERM (a rolling restart) loses and duplicates nothing.
#include <algorithm>
#include <csignal>
#include <map>
#include <set>

#include "tests/e2e/e2e.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

std::vector<std::int64_t> msg_ids_of(const std::vector<json>& pushes) {
    std::vector<std::int64_t> ids;
    for (auto& push : pushes) ids.push_back(push.value("msgId", json(-1)).get<std::int64_t>());
    return ids;
}

/// DIALOGUE responses with code 0 buffered on `client`, by requestId.
std::map<std::string, std::int64_t> answered_dialogues(ws_client& client) {
    std::map<std::string, std::int64_t> out;
    for (auto& r : client.take_all([](const json& f) { return f.value("cmd", json()) == "DIALOGUE"; }))
        if (code_of(r) == 0) out[r.value("requestId", std::string())] = r["msgId"].get<std::int64_t>();
    return out;
}

}  // namespace

TEST_CASE("SIGTERM on a broker mid-chat: 1012, its client resumes on the other broker, every message once and "
          "in order, and the broker exits 0",
          "[e2e][multi_broker]") {
    auto options = two_of_everything();
    options.grace = "30s";  // the moving person's conversation waits for them
    service_stack stack(options);
    auto p = make_pair(stack, 0, 1);  // alice on b1; bob on b2, which is restarted
    constexpr int k_count = 40;       // per person and phase

    auto a_ids = send_burst(*p.a, p.session, k_count, "a-before-");
    auto b_ids = send_burst(*p.b, p.session, k_count, "b-before-");
    // Both have DIALOGUEs on their way when b2 is told to stop: bob's first is answered,
    // the next batch is likely at logic, the rest waits behind it or is still unread.
    send_dialogues(*p.a, p.session, k_count, "a-during-");
    send_dialogues(*p.b, p.session, k_count, "b-during-");
    const auto first = p.b->wait_response("DIALOGUE", 10s, json("b-during-0"));
    REQUIRE(code_of(first) == 0);
    const auto sigterm_at = std::chrono::steady_clock::now();
    stack.broker(1).signal(SIGTERM);
    REQUIRE(p.b->wait_closed(10s));
    CHECK(p.b->close_code() == 1012);

    // Bob comes back on b1 with his token (through nginx, in production) and sends again,
    // with the same requestIds, what b2 did not answer: the careful client's part.
    auto bob = stack.connect(0);
    auto back = bob->reconnect(p.bob.id, p.bob.token);
    INFO("RECONNECT: " << back.dump());
    REQUIRE(code_of(back) == 0);
    auto answered = answered_dialogues(*p.b);
    answered["b-during-0"] = first["msgId"].get<std::int64_t>();
    for (int i = 0; i < k_count; ++i)
        if (!answered.count("b-during-" + std::to_string(i)))
            bob->send({{"cmd", "DIALOGUE"}, {"requestId", "b-during-" + std::to_string(i)}, {"senderId", p.bob.id},
                       {"sessionId", p.session}, {"content", burst_content("b-during-", i)}});
    for (int i = 0; i < k_count; ++i) {
        const auto rid = "b-during-" + std::to_string(i);
        if (answered.count(rid)) {
            b_ids.push_back(answered[rid]);
            continue;
        }
        auto r = bob->wait_response("DIALOGUE", 30s, json(rid));
        INFO("resent " << rid << ": " << r.dump());
        REQUIRE(code_of(r) == 0);
        b_ids.push_back(r["msgId"].get<std::int64_t>());
    }
    auto a_during = collect_responses(*p.a, k_count, "a-during-");
    a_ids.insert(a_ids.end(), a_during.begin(), a_during.end());

    const auto status = stack.broker(1).wait_exit(10s);
    const auto stopped_after = std::chrono::steady_clock::now() - sigterm_at;
    REQUIRE(status.has_value());
    CHECK(*status == 0);
    CHECK(stopped_after < 6s);

    auto a_after = send_burst(*p.a, p.session, k_count, "a-after-");
    auto b_after = send_burst(*bob, p.session, k_count, "b-after-");
    a_ids.insert(a_ids.end(), a_after.begin(), a_after.end());
    b_ids.insert(b_ids.end(), b_after.begin(), b_after.end());

    // Each person's messages got msgIds in the order sent, and together 1..N, once each.
    CHECK(std::is_sorted(a_ids.begin(), a_ids.end()));
    CHECK(std::is_sorted(b_ids.begin(), b_ids.end()));
    std::vector<std::int64_t> all(a_ids);
    all.insert(all.end(), b_ids.begin(), b_ids.end());
    std::sort(all.begin(), all.end());
    std::vector<std::int64_t> expected(all.size());
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::int64_t>(i) + 1;
    CHECK(all == expected);

    // Alice stayed on b1: every message of bob's reaches her exactly once, in order.
    auto to_a = collect_dialogue(*p.a, p.session, b_ids.size());
    CHECK(msg_ids_of(to_a) == b_ids);
    expect_no_push(*p.a, push_dialogue(p.session), "one of bob's messages shown twice to alice", 1s);

    // Bob saw some of alice's messages on b2; the resume on b1 pushes again everything
    // he had not acknowledged (a client drops msgIds it has), in order, then the rest.
    std::map<std::int64_t, std::string> shown;
    std::vector<std::int64_t> shown_order;
    std::string problems;
    const auto show = [&](const json& push) {
        const auto id = push["msgId"].get<std::int64_t>();
        const auto content = push.value("content", std::string());
        auto [it, fresh] = shown.emplace(id, content);
        if (!fresh) {
            if (it->second != content) problems += "msgId " + std::to_string(id) + " with two contents; ";
            return;  // pushed again: dropped by msgId
        }
        if (!shown_order.empty() && id < shown_order.back()) problems += "msgId " + std::to_string(id) + " late; ";
        shown_order.push_back(id);
    };
    for (const auto& push : p.b->take_all(push_dialogue(p.session))) show(push);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (shown.size() < a_ids.size() && std::chrono::steady_clock::now() < deadline)
        if (auto push = bob->wait_push(push_dialogue(p.session), 1s)) show(*push);
    CHECK(problems == "");
    CHECK(shown_order == a_ids);
    const std::size_t per_phase = k_count;
    std::string wrong;
    for (std::size_t i = 0; i < a_ids.size(); ++i) {
        const auto* phase = i < per_phase ? "a-before-" : i < 2 * per_phase ? "a-during-" : "a-after-";
        if (shown[a_ids[i]] != burst_content(phase, static_cast<int>(i % per_phase))) wrong += shown[a_ids[i]] + "; ";
    }
    CHECK(wrong == "");
    CHECK(stack.broker(0).running());
}

TEST_CASE("people on different brokers match and talk both ways, once and in order",
          "[e2e][multi_broker]") {
    service_stack stack(two_of_everything());
    auto p = make_pair(stack, 0, 1);  // alice on b1, bob on b2
    constexpr int k_count = 150;

    send_dialogues(*p.a, p.session, k_count, "a-");
    send_dialogues(*p.b, p.session, k_count, "b-");
    auto a_ids = collect_responses(*p.a, k_count, "a-");
    auto b_ids = collect_responses(*p.b, k_count, "b-");
    CHECK(std::is_sorted(a_ids.begin(), a_ids.end()));
    CHECK(std::is_sorted(b_ids.begin(), b_ids.end()));
    std::vector<std::int64_t> all(a_ids);
    all.insert(all.end(), b_ids.begin(), b_ids.end());
    std::sort(all.begin(), all.end());
    std::vector<std::int64_t> expected(2 * k_count);
    for (std::size_t i = 0; i < expected.size(); ++i)
        expected[i] = static_cast<std::int64_t>(i) + 1;
    CHECK(all == expected);

    auto to_b = collect_dialogue(*p.b, p.session, k_count);
    auto to_a = collect_dialogue(*p.a, p.session, k_count);
    CHECK(msg_ids_of(to_b) == a_ids);
    CHECK(msg_ids_of(to_a) == b_ids);
    std::string wrong;
    for (int i = 0; i < k_count; ++i) {
        if (to_b[i].value("content", json()) != burst_content("a-", i))
            wrong += to_b[i].dump() + "; ";
        if (to_a[i].value("content", json()) != burst_content("b-", i))
            wrong += to_a[i].dump() + "; ";
    }
    CHECK(wrong == "");
    expect_no_push(*p.a, push_dialogue(p.session), "a PUSH_DIALOGUE delivered twice to alice",
                   1500ms);
    expect_no_push(*p.b, push_dialogue(p.session), "a PUSH_DIALOGUE delivered twice to bob", 200ms);

    // Read receipts cross brokers too.
    auto last = a_ids.back();
    CHECK(code_of(p.b->request({{"cmd", "VIEWED_ACK"},
                                {"sessionId", p.session},
                                {"accountId", p.bob.id},
                                {"msgId", last}})) == 0);
    auto viewed = expect_push(*p.a, viewed_push(p.session), "PUSH_VIEWED_ACK across brokers");
    CHECK(viewed.value("msgId", json()) == last);
    CHECK(viewed.value("accountId", json()) == p.bob.id);
    check_services_alive(stack);
}

TEST_CASE("RECONNECT on another broker moves the account there", "[e2e][multi_broker]") {
    service_stack stack(two_of_everything());
    auto p = make_pair(stack, 0, 0);  // both on b1

    auto moved = stack.connect(1);
    auto response = moved->reconnect(p.alice.id, p.alice.token);
    INFO("RECONNECT: " << response.dump());
    REQUIRE(code_of(response) == 0);
    // b1 closes the replaced connection although the RECONNECT went through b2.
    REQUIRE(p.a->wait_closed(10s));
    CHECK(p.a->close_code() == 4001);

    // Pushes for alice now go to b2.
    REQUIRE(code_of(p.b->say(p.session, "where are you?", "b1")) == 0);
    auto push = expect_push(*moved, push_dialogue(p.session, 1), "a push to alice's new broker");
    CHECK(push.value("content", json()) == "where are you?");
    REQUIRE(code_of(moved->say(p.session, "on b2 now", "a1")) == 0);
    expect_push(*p.b, push_dialogue(p.session, 2), "a message from alice's new broker");
    expect_no_push(*p.b, signal("PartnerExit", p.session), "PartnerExit after moving brokers",
                   300ms);
    check_services_alive(stack);
}

TEST_CASE("concurrent MATCHes never pair anyone with themself or twice with the same partner",
          "[e2e][multi_broker]") {
    service_stack stack(two_of_everything());
    constexpr int k_people = 10;
    constexpr int k_rounds = 3;
    std::vector<std::unique_ptr<ws_client>> clients;
    std::map<std::int64_t, ws_client*> by_id;
    for (int i = 0; i < k_people; ++i) {
        clients.push_back(stack.connect(static_cast<std::size_t>(i % 2)));
        auto id = clients.back()->create_account("p" + std::to_string(i)).id;
        by_id[id] = clients.back().get();
    }

    struct session_info {
        std::int64_t requester;
        std::int64_t partner;
    };
    std::map<std::int64_t, session_info> sessions;
    std::string problems;
    int matched = 0;
    for (int round = 0; round < k_rounds; ++round) {
        // Everyone asks at once; the requests are in flight together on both brokers.
        for (auto& client : clients)
            client->send({{"cmd", "MATCH"}, {"accountId", client->account_id()}});
        for (auto& client : clients) {
            auto response = client->wait_response("MATCH", 20s);
            auto me = client->account_id();
            int code = code_of(response);
            // Nobody left for this one right now: it waits (13), or has the most
            // conversations it may (15).
            if (code == 13 || code == 15) continue;
            if (code != 0) {
                problems += "unexpected response " + response.dump() + "; ";
                continue;
            }
            ++matched;
            auto partner = response.value("partnerId", json(0)).get<std::int64_t>();
            auto session = response.value("sessionId", json(0)).get<std::int64_t>();
            if (partner == me)
                problems += "account " + std::to_string(me) + " matched with itself; ";
            if (!by_id.count(partner)) problems += "unknown partner in " + response.dump() + "; ";
            if (!sessions.emplace(session, session_info{me, partner}).second) {
                problems += "session " + std::to_string(session) + " handed out twice; ";
            }
        }
    }
    CHECK(problems == "");
    // With nine candidates each and nobody leaving, most requests must succeed.
    CHECK(matched >= k_people);

    // No pair of people shares two open sessions.
    std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> pairs;
    for (auto& [session, info] : sessions) {
        auto key = std::minmax(info.requester, info.partner);
        auto [it, fresh] = pairs.emplace(key, session);
        if (!fresh) {
            problems += "accounts " + std::to_string(key.first) + " and " +
                        std::to_string(key.second) + " got sessions " + std::to_string(it->second) +
                        " and " + std::to_string(session) + "; ";
        }
    }
    CHECK(problems == "");

    // Each partner heard of each of its sessions exactly once, from the right person.
    for (auto& [session, info] : sessions) {
        auto push = expect_push(*by_id.at(info.partner), signal("NewSession", session),
                                "NewSession for session " + std::to_string(session));
        CHECK(push.value("data", json()).value("accountId", json()) == info.requester);
    }
    auto any_new_session = [](const json& f) {
        return f.value("signalType", json()) == "NewSession";
    };
    for (auto& client : clients) {
        expect_no_push(*client, any_new_session, "an extra NewSession", 100ms);
    }
    check_services_alive(stack);
}
