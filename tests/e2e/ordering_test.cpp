// msgIds: 1, 2, 3... per session, in send order, each message delivered exactly once,
// and a resent requestId stored once.
#include <algorithm>
#include <sstream>

#include "tests/e2e/e2e.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

// Describes where a sequence differs from 1..n (empty when it does not), so one CHECK
// covers hundreds of messages and still says which one went wrong.
std::string differences_from_sequence(const std::vector<std::int64_t>& ids,
                                      std::int64_t first = 1) {
    std::ostringstream out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] != first + static_cast<std::int64_t>(i)) {
            out << "position " << i << " has msgId " << ids[i] << " instead of " << first + i
                << "; ";
        }
    }
    return out.str();
}

std::vector<std::int64_t> msg_ids_of(const std::vector<json>& pushes) {
    std::vector<std::int64_t> ids;
    for (auto& push : pushes) ids.push_back(push.value("msgId", json(-1)).get<std::int64_t>());
    return ids;
}

bool strictly_increasing(const std::vector<std::int64_t>& ids) {
    return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) == ids.end();
}

}  // namespace

TEST_CASE("msgIds count 1, 2, 3 within each session, independently", "[e2e][ordering]") {
    service_stack stack;
    auto a = stack.connect();
    auto b = stack.connect();
    a->create_account("alice");
    b->create_account("bob");
    auto ab = match_expecting(*a, *b);
    auto c = stack.connect();
    c->create_account("carol");
    auto ac = match_expecting(*a, *c);  // bob is not a candidate for alice any more

    CHECK(send_burst(*a, ab, 3, "ab-") == std::vector<std::int64_t>{1, 2, 3});
    CHECK(send_burst(*a, ac, 2, "ac-") == std::vector<std::int64_t>{1, 2});
    CHECK(send_burst(*b, ab, 1, "ba-") == std::vector<std::int64_t>{4});
    CHECK(send_burst(*c, ac, 1, "ca-") == std::vector<std::int64_t>{3});

    CHECK(msg_ids_of(collect_dialogue(*b, ab, 3)) == std::vector<std::int64_t>{1, 2, 3});
    CHECK(msg_ids_of(collect_dialogue(*c, ac, 2)) == std::vector<std::int64_t>{1, 2});
    CHECK(expect_push(*a, push_dialogue(ab), "bob's message to alice").value("msgId", json()) == 4);
    CHECK(expect_push(*a, push_dialogue(ac), "carol's message to alice").value("msgId", json()) ==
          3);

    // Each session's messages reach only its members.
    expect_no_push(*b, push_dialogue(ac), "a message of alice and carol's session pushed to bob");
    expect_no_push(*c, push_dialogue(ab), "a message of alice and bob's session pushed to carol",
                   100ms);
    check_services_alive(stack);
}

TEST_CASE("a burst of 200 DIALOGUEs gets msgIds in send order and arrives once, in order",
          "[e2e][ordering]") {
    service_stack stack;
    auto p = make_pair(stack);
    constexpr int k_count = 200;

    auto ids = send_burst(*p.a, p.session, k_count, "burst-");
    CHECK(differences_from_sequence(ids) == "");

    auto pushes = collect_dialogue(*p.b, p.session, k_count);
    CHECK(differences_from_sequence(msg_ids_of(pushes)) == "");
    std::string wrong;
    for (int i = 0; i < k_count; ++i) {
        if (pushes[i].value("content", json()) != burst_content("burst-", i) ||
            pushes[i].value("senderId", json()) != p.alice.id) {
            wrong += pushes[i].dump() + "; ";
        }
    }
    CHECK(wrong == "");
    expect_no_push(*p.b, push_dialogue(p.session), "a PUSH_DIALOGUE beyond the 200 sent", 1500ms);
    check_services_alive(stack);
}

TEST_CASE("both members sending bursts at once get distinct msgIds in their own send order",
          "[e2e][ordering]") {
    service_stack stack;
    auto p = make_pair(stack);
    constexpr int k_count = 100;

    send_dialogues(*p.a, p.session, k_count, "a-");
    send_dialogues(*p.b, p.session, k_count, "b-");
    auto a_ids = collect_responses(*p.a, k_count, "a-");
    auto b_ids = collect_responses(*p.b, k_count, "b-");
    CHECK(strictly_increasing(a_ids));
    CHECK(strictly_increasing(b_ids));
    std::vector<std::int64_t> all(a_ids);
    all.insert(all.end(), b_ids.begin(), b_ids.end());
    std::sort(all.begin(), all.end());
    CHECK(differences_from_sequence(all) == "");

    // Each receives the other's messages, in msgId order, with the ids their sender got.
    auto to_b = collect_dialogue(*p.b, p.session, k_count);
    auto to_a = collect_dialogue(*p.a, p.session, k_count);
    CHECK(msg_ids_of(to_b) == a_ids);
    CHECK(msg_ids_of(to_a) == b_ids);
    expect_no_push(*p.a, push_dialogue(p.session), "an extra PUSH_DIALOGUE to alice");
    expect_no_push(*p.b, push_dialogue(p.session), "an extra PUSH_DIALOGUE to bob", 200ms);
    check_services_alive(stack);
}

TEST_CASE("resending a DIALOGUE with the same requestId stores and delivers it once",
          "[e2e][ordering]") {
    service_stack stack;
    auto p = make_pair(stack);

    auto first = p.a->say(p.session, "hello", "dup-1");
    REQUIRE(code_of(first) == 0);
    CHECK(first.value("msgId", json()) == 1);
    auto again = p.a->say(p.session, "hello", "dup-1");
    INFO("resend: " << again.dump());
    CHECK(code_of(again) == 0);
    CHECK(again.value("msgId", json()) == 1);

    // Two copies in flight at once, as a client retrying on a slow network would send.
    p.a->send({{"cmd", "DIALOGUE"},
               {"requestId", "dup-2"},
               {"senderId", p.alice.id},
               {"sessionId", p.session},
               {"content", "twice"}});
    p.a->send({{"cmd", "DIALOGUE"},
               {"requestId", "dup-2"},
               {"senderId", p.alice.id},
               {"sessionId", p.session},
               {"content", "twice"}});
    auto copy1 = p.a->wait_response("DIALOGUE", 10s, json("dup-2"));
    auto copy2 = p.a->wait_response("DIALOGUE", 10s, json("dup-2"));
    INFO("copies: " << copy1.dump() << " " << copy2.dump());
    CHECK(code_of(copy1) == 0);
    CHECK(code_of(copy2) == 0);
    CHECK(copy1.value("msgId", json()) == 2);
    CHECK(copy2.value("msgId", json()) == 2);

    // Integer requestIds are idempotency keys too.
    CHECK(p.a->say(p.session, "numbered", 7).value("msgId", json()) == 3);
    CHECK(p.a->say(p.session, "numbered", 7).value("msgId", json()) == 3);
    // No msgId was spent on the resends.
    CHECK(p.a->say(p.session, "next", "dup-3").value("msgId", json()) == 4);

    auto pushes = collect_dialogue(*p.b, p.session, 4);
    CHECK(msg_ids_of(pushes) == std::vector<std::int64_t>{1, 2, 3, 4});
    CHECK(pushes[0].value("content", json()) == "hello");
    CHECK(pushes[1].value("content", json()) == "twice");
    expect_no_push(*p.b, push_dialogue(p.session), "a resent message delivered a second time",
                   1500ms);

    // The key belongs to one sender in one session: bob's "dup-1" is a new message.
    CHECK(p.b->say(p.session, "mine", "dup-1").value("msgId", json()) == 5);
    CHECK(expect_push(*p.a, push_dialogue(p.session, 5), "bob's dup-1").value("content", json()) ==
          "mine");
    auto c = stack.connect();
    c->create_account("carol");
    auto ac = match_expecting(*p.a, *c);
    auto other_session = p.a->say(ac, "elsewhere", "dup-1");
    CHECK(code_of(other_session) == 0);
    CHECK(other_session.value("msgId", json()) == 1);
    CHECK(expect_push(*c, push_dialogue(ac, 1), "alice's dup-1 in another session")
              .value("content", json()) == "elsewhere");
    check_services_alive(stack);
}
