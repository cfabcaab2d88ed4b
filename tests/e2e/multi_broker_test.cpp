// Two brokers, two logic and two dispatcher processes at once: people on different
// brokers talk, every message arrives once and in order, and concurrent MATCHes handled
// by different logic processes never pair anyone twice or with themself.
#include <algorithm>
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

}  // namespace

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
            if (code == 4) continue;  // nobody left for this one right now
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
