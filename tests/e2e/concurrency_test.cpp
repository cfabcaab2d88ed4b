// Many clients at once on one broker running several I/O threads: logins, MATCHes,
// pipelined DIALOGUEs into every session, PINGs, read receipts, connections coming and
// going, and one account RECONNECTing over and over (each time replacing its previous
// connection). Every request must be answered once and correctly, every message
// delivered once and in order. Under ThreadSanitizer (./deploy/dev.sh test
// --sanitize=thread) this is the broker's data race test.
#include <algorithm>
#include <cstdio>
#include <future>
#include <map>
#include <set>

#include "tests/e2e/e2e.hpp"
#include "tests/support/stack.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

constexpr int k_clients = 24;
constexpr int k_rounds = 40;          // DIALOGUEs each member sends into each of its sessions
constexpr std::size_t k_window = 48;  // requests in flight per connection
constexpr auto k_timeout = 60s;       // generous: ThreadSanitizer slows everything down

struct session_view {
    std::int64_t partner = 0;
    std::vector<std::int64_t> sent;      // msgIds of my DIALOGUEs, in send order
    std::vector<std::int64_t> received;  // msgIds of the partner's, in arrival order
};

struct client_result {
    std::int64_t account = 0;
    std::map<std::int64_t, session_view> sessions;
    std::vector<std::string> problems;
};

std::string content_of(std::int64_t account, std::int64_t session, int round) {
    return "from " + std::to_string(account) + " in " + std::to_string(session) + " #" +
           std::to_string(round);
}

// One client's whole conversation; runs on its own thread, so it reports problems
// instead of using Catch2's macros.
client_result talk(ws_client& client, std::map<std::int64_t, session_view> sessions) {
    client_result r{client.account_id(), std::move(sessions), {}};
    const auto me = client.account_id();
    try {
        // Every session gets rounds 0, 1, 2...; PINGs go in between.
        std::vector<std::pair<std::int64_t, int>> order;
        for (int round = 0; round < k_rounds; ++round)
            for (auto& [session, view] : r.sessions) order.emplace_back(session, round);
        std::size_t pings = 0;
        for (std::size_t i = 0; i < order.size();) {
            std::vector<std::pair<std::int64_t, int>> window;
            for (; i < order.size() && window.size() < k_window; ++i) {
                auto [session, round] = order[i];
                client.send({{"cmd", "DIALOGUE"},
                             {"requestId", std::to_string(session) + ":" + std::to_string(round)},
                             {"senderId", me},
                             {"sessionId", session},
                             {"content", content_of(me, session, round)}});
                window.emplace_back(session, round);
                if (i % 16 == 0) {
                    client.send({{"cmd", "PING"}});
                    ++pings;
                }
            }
            for (auto [session, round] : window) {
                auto response = client.wait_response(
                    "DIALOGUE", k_timeout,
                    json(std::to_string(session) + ":" + std::to_string(round)));
                if (code_of(response) != 0) {
                    r.problems.push_back("DIALOGUE refused: " + response.dump());
                    return r;
                }
                r.sessions[session].sent.push_back(response.value("msgId", std::int64_t{0}));
            }
        }
        // One PONG per PING, each naming this connection's account.
        const auto pongs =
            client.take_all([](const json& f) { return f.value("cmd", json()) == "PONG"; });
        if (pongs.size() != pings)
            r.problems.push_back(std::to_string(pings) + " PINGs got " +
                                 std::to_string(pongs.size()) + " PONGs");
        for (auto& pong : pongs)
            if (pong.value("accountId", json()) != me)
                r.problems.push_back("PONG for someone else: " + pong.dump());

        // The partners' messages: each once, in msgId order, with the content sent.
        for (auto& [session, view] : r.sessions) {
            for (int round = 0; round < k_rounds; ++round) {
                auto push = client.wait_push(push_dialogue(session), k_timeout);
                if (!push) {
                    r.problems.push_back("session " + std::to_string(session) + ": only " +
                                         std::to_string(round) + " of " + std::to_string(k_rounds) +
                                         " pushes arrived\n" + client.describe());
                    return r;
                }
                if (push->value("content", json()) != content_of(view.partner, session, round) ||
                    push->value("senderId", json()) != view.partner)
                    r.problems.push_back("wrong or out-of-order push: " + push->dump());
                view.received.push_back(push->value("msgId", std::int64_t{0}));
            }
        }

        // Read receipts both ways.
        const auto last = static_cast<std::int64_t>(2 * k_rounds);
        for (auto& [session, view] : r.sessions) {
            auto response = client.request(
                {{"cmd", "VIEWED_ACK"}, {"sessionId", session}, {"accountId", me}, {"msgId", last}},
                k_timeout);
            if (code_of(response) != 0)
                r.problems.push_back("VIEWED_ACK refused: " + response.dump());
        }
        for (auto& [session, view] : r.sessions) {
            auto push = client.wait_push(viewed_push(session), k_timeout);
            if (!push || push->value("msgId", json()) != last ||
                push->value("accountId", json()) != view.partner)
                r.problems.push_back("no read receipt " + std::to_string(last) + " in session " +
                                     std::to_string(session) + (push ? ": " + push->dump() : ""));
        }
        if (auto extra = client.wait_push(any_push(), 300ms))
            r.problems.push_back("an extra push: " + extra->dump());
        // Every response was taken above: anything left is a request answered twice.
        for (auto& extra : client.buffered())
            r.problems.push_back("an answer too many: " + extra.dump());
    } catch (const std::exception& e) {
        r.problems.push_back(std::string("client ") + std::to_string(me) + ": " + e.what());
    }
    return r;
}

// Connections that come and go without an account: PING, garbage, closes and aborts.
std::vector<std::string> churn(std::uint16_t port, int connections) {
    std::vector<std::string> problems;
    for (int i = 0; i < connections; ++i) {
        try {
            ws_client c(port);
            const bool garbage = i % 3 == 0;
            if (garbage) c.send_text("{\"cmd\":");
            auto pong = c.ping();
            if (pong.value("accountId", json(-1)) != 0) problems.push_back("PONG " + pong.dump());
            if (garbage) {
                auto error = c.wait_response("ERROR", k_timeout);
                if (code_of(error) != 1) problems.push_back("truncated JSON: " + error.dump());
            }
            if (i % 2 == 0)
                c.abort();
            else
                c.close();
        } catch (const std::exception& e) {
            problems.push_back(std::string("churn: ") + e.what());
        }
    }
    return problems;
}

// One account RECONNECTs on a new connection again and again; each time the previous
// connection must be closed with 4001.
std::vector<std::string> roam(std::uint16_t port, account who, int times) {
    std::vector<std::string> problems;
    try {
        auto previous = std::make_unique<ws_client>(port);
        if (code_of(previous->reconnect(who.id, who.token)) != 0)
            return {"the first RECONNECT failed"};
        for (int i = 0; i < times; ++i) {
            auto next = std::make_unique<ws_client>(port);
            auto response = next->reconnect(who.id, who.token);
            if (code_of(response) != 0) {
                problems.push_back("RECONNECT " + std::to_string(i) + ": " + response.dump());
                break;
            }
            if (!previous->wait_closed(k_timeout) || previous->close_code() != 4001)
                problems.push_back("the replaced connection was not closed with 4001: " +
                                   previous->describe());
            previous = std::move(next);
        }
    } catch (const std::exception& e) {
        problems.push_back(std::string("roam: ") + e.what());
    }
    return problems;
}

}  // namespace

TEST_CASE(
    "many concurrent clients on a multi-threaded broker: every request answered, every message "
    "once and in order",
    "[e2e][concurrency]") {
    stack_options options;
    options.broker_threads = 4;
    // The conversation cap is not what this test is about: with every client MATCHing at
    // once, one can be picked by five others before its own MATCH runs (answer 15).
    options.sets = {"logic:matching.max_conversations=" + std::to_string(k_clients)};
    service_stack stack(options);
    const auto port = stack.broker_port();

    // Logins, all at once.
    std::vector<std::unique_ptr<ws_client>> clients;
    for (int i = 0; i < k_clients; ++i) clients.push_back(stack.connect());
    {
        std::vector<std::future<account>> logins;
        for (int i = 0; i < k_clients; ++i)
            logins.push_back(std::async(std::launch::async, [&, i] {
                return clients[i]->create_account("c" + std::to_string(i));
            }));
        for (auto& login : logins) REQUIRE(login.get().id > 0);
    }
    // The roamer logs in, then leaves; it has no session so nobody MATCHes it.
    account roamer;
    {
        auto c = stack.connect();
        roamer = c->create_account("roamer");
        c->close();
    }
    REQUIRE(wait_until(
        [&] {
            return stack.db().query("SELECT online FROM accounts WHERE id = " +
                                    std::to_string(roamer.id)) == "f";
        },
        10s));

    // MATCHes, all at once: each creates one session; its partner learns of it by push.
    std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>>
        pairs;  // session -> (requester, partner)
    std::set<std::int64_t> heard;  // sessions whose partner's NewSession was read already
    {
        std::vector<std::future<json>> matches;
        for (auto& c : clients)
            matches.push_back(std::async(std::launch::async, [&c] { return c->match(); }));
        std::vector<ws_client*> waiting;
        for (std::size_t i = 0; i < clients.size(); ++i) {
            auto response = matches[i].get();
            INFO("MATCH: " << response.dump());
            if (code_of(response) == 13) {  // everyone left was taken by a racing MATCH
                waiting.push_back(clients[i].get());
                continue;
            }
            REQUIRE(code_of(response) == 0);
            auto session = response["sessionId"].get<std::int64_t>();
            CHECK(pairs.count(session) == 0);
            pairs[session] = {clients[i]->account_id(), response["partnerId"].get<std::int64_t>()};
        }
        // Stop waiting; whoever was paired meanwhile (CANCEL_MATCH answers 4) learns of it
        // by NewSession, and the session counts like the others.
        for (auto* w : waiting) {
            const auto cancelled = w->request({{"cmd", "CANCEL_MATCH"}, {"accountId", w->account_id()}});
            if (code_of(cancelled) == 0) continue;
            REQUIRE(code_of(cancelled) == 4);
            const auto push = expect_push(*w, any_push(), "NewSession for someone who waited", k_timeout);
            REQUIRE(push.value("signalType", json()) == "NewSession");
            const auto session = push["sessionId"].get<std::int64_t>();
            heard.insert(session);
            if (!pairs.count(session)) pairs[session] = {push["data"]["accountId"].get<std::int64_t>(), w->account_id()};
        }
    }
    CHECK(pairs.size() >= k_clients / 2);
    std::map<std::int64_t, ws_client*> by_account;
    for (auto& c : clients) by_account[c->account_id()] = c.get();
    std::map<std::int64_t, std::map<std::int64_t, session_view>> sessions_of;
    std::set<std::pair<std::int64_t, std::int64_t>> distinct_pairs;
    for (auto& [session, who] : pairs) {
        auto [requester, partner] = who;
        REQUIRE(by_account.count(partner) == 1);
        CHECK(requester != partner);
        CHECK(distinct_pairs.insert(std::minmax(requester, partner)).second);
        if (!heard.count(session))
            expect_push(*by_account[partner], signal("NewSession", session), "NewSession", k_timeout);
        sessions_of[requester][session].partner = partner;
        sessions_of[partner][session].partner = requester;
    }

    // Everyone talks in every session at once, while others connect, disconnect and roam.
    std::vector<std::future<client_result>> talkers;
    for (auto& c : clients)
        talkers.push_back(
            std::async(std::launch::async, talk, std::ref(*c), sessions_of[c->account_id()]));
    auto churner1 = std::async(std::launch::async, churn, port, 40);
    auto churner2 = std::async(std::launch::async, churn, port, 40);
    auto roamer_done = std::async(std::launch::async, roam, port, roamer, 15);

    std::map<std::int64_t, client_result> results;
    for (auto& t : talkers) {
        auto r = t.get();
        std::string problems;
        for (auto& p : r.problems) problems += "\n- " + p;
        INFO("account " << r.account << problems);
        CHECK(r.problems.empty());
        results[r.account] = std::move(r);
    }
    for (auto* f : {&churner1, &churner2, &roamer_done}) {
        auto problems = f->get();
        std::string text;
        for (auto& p : problems) text += "\n- " + p;
        INFO(text);
        CHECK(problems.empty());
    }

    // Per session: my msgIds in send order, the partner's pushes in order, and the two
    // together exactly 1..2*k_rounds.
    for (auto& [session, who] : pairs) {
        auto& a = results[who.first].sessions[session];
        auto& b = results[who.second].sessions[session];
        INFO("session " << session);
        CHECK(std::is_sorted(a.sent.begin(), a.sent.end()));
        CHECK(std::is_sorted(b.sent.begin(), b.sent.end()));
        CHECK(a.received == b.sent);
        CHECK(b.received == a.sent);
        std::set<std::int64_t> all(a.sent.begin(), a.sent.end());
        all.insert(b.sent.begin(), b.sent.end());
        CHECK(all.size() == 2 * k_rounds);
        CHECK((all.empty() || (*all.begin() == 1 && *all.rbegin() == 2 * k_rounds)));
    }
    check_services_alive(stack);
    CHECK(stack.broker_healthy(0));
    std::printf(
        "concurrency: %d clients, %zu sessions, %zu DIALOGUEs, 80 passing connections, 15 "
        "RECONNECTs\n",
        k_clients, pairs.size(), pairs.size() * 2 * k_rounds);
}
