#include <catch2/catch.hpp>

#include "services/broker/src/typing_relay.hpp"

using chat::broker::session_change;
using chat::broker::session_change_of;
using chat::broker::typing_relay;
using chat::broker::typing_verdict;
using chat::proto::Delivery;
using namespace std::chrono_literals;

namespace {

using clock_type = typing_relay::clock;
const clock_type::time_point t0 = clock_type::time_point() + 1h;

Delivery delivery(Delivery::Kind kind, std::int64_t session, std::int64_t peer) {
    Delivery d;
    d.set_kind(kind);
    d.set_receiver_id(1);
    d.set_session_id(session);
    d.set_peer_id(peer);
    d.set_sender_id(peer);
    return d;
}

session_change opened(std::int64_t session, std::int64_t partner) {
    return {session_change::kind::opened, session, partner};
}
session_change ended(std::int64_t session) { return {session_change::kind::ended, session, 0}; }

}  // namespace

TEST_CASE("typing: NewSession opens a session with its peer, PartnerExit ends it, other pushes say nothing") {
    auto change = session_change_of(delivery(Delivery::NEW_SESSION, 5, 23));
    CHECK(change.what == session_change::kind::opened);
    CHECK(change.session_id == 5);
    CHECK(change.partner_id == 23);
    change = session_change_of(delivery(Delivery::PARTNER_EXIT, 5, 23));
    CHECK(change.what == session_change::kind::ended);
    CHECK(change.session_id == 5);
    for (auto kind : {Delivery::MESSAGE, Delivery::VIEWED, Delivery::PARTNER_AWAY, Delivery::PARTNER_BACK})
        CHECK(session_change_of(delivery(kind, 5, 23)).what == session_change::kind::none);
}

TEST_CASE("typing: only sessions the relay was told about are relayed, to their partner") {
    typing_relay r;
    CHECK(r.outgoing(5, true, t0).verdict == typing_verdict::not_in_session);
    r.open(5, 23);
    auto d = r.outgoing(5, true, t0);
    CHECK(d.verdict == typing_verdict::relay);
    CHECK(d.partner_id == 23);
    CHECK(r.outgoing(6, true, t0).verdict == typing_verdict::not_in_session);
    r.end(5);
    CHECK(r.outgoing(5, false, t0 + 2s).verdict == typing_verdict::not_in_session);
    CHECK(r.size() == 0);
}

TEST_CASE("typing: an incoming TYPING is shown only when its sender is the session's partner") {
    typing_relay r;
    r.open(5, 23);
    CHECK(r.from_partner(5, 23));
    CHECK_FALSE(r.from_partner(5, 24));  // someone else claiming the session
    CHECK_FALSE(r.from_partner(6, 23));  // the partner, but another session
    r.apply(ended(5));
    CHECK_FALSE(r.from_partner(5, 23));
}

TEST_CASE("typing: a repeat of the state last relayed within 1 s is dropped, a change is not") {
    typing_relay r;
    r.open(5, 23);
    CHECK(r.outgoing(5, true, t0).verdict == typing_verdict::relay);
    CHECK(r.outgoing(5, true, t0 + 300ms).verdict == typing_verdict::repeat);
    CHECK(r.outgoing(5, true, t0 + 999ms).verdict == typing_verdict::repeat);
    CHECK(r.outgoing(5, false, t0 + 999ms).verdict == typing_verdict::relay);
    CHECK(r.outgoing(5, false, t0 + 1200ms).verdict == typing_verdict::repeat);
    // The same state again after 1 s is a refresh ("still typing"): relayed.
    CHECK(r.outgoing(5, false, t0 + 2s).verdict == typing_verdict::relay);
}

TEST_CASE("typing: at most 4 relayed per second per session, the next is refused until one leaves the window") {
    typing_relay r;
    r.open(5, 23);
    r.open(6, 24);
    bool state = true;
    for (int i = 0; i < 4; ++i) {
        CHECK(r.outgoing(5, state, t0 + i * 100ms).verdict == typing_verdict::relay);
        state = !state;
    }
    CHECK(r.outgoing(5, state, t0 + 400ms).verdict == typing_verdict::too_fast);
    CHECK(r.outgoing(5, state, t0 + 999ms).verdict == typing_verdict::too_fast);
    // Another session has its own budget.
    CHECK(r.outgoing(6, true, t0 + 500ms).verdict == typing_verdict::relay);
    // 1 s after the first relay, one slot is free again (the refused ones did not count).
    CHECK(r.outgoing(5, state, t0 + 1000ms).verdict == typing_verdict::relay);
    state = !state;
    CHECK(r.outgoing(5, state, t0 + 1050ms).verdict == typing_verdict::too_fast);
    CHECK(r.outgoing(5, state, t0 + 1100ms).verdict == typing_verdict::relay);
}

TEST_CASE("typing: a flood relays at most 4 in any second") {
    typing_relay r;
    r.open(5, 23);
    std::vector<clock_type::time_point> relayed;
    bool state = false;
    for (int i = 0; i < 400; ++i) {
        const auto now = t0 + i * 10ms;
        state = !state;
        if (r.outgoing(5, state, now).verdict == typing_verdict::relay) relayed.push_back(now);
    }
    CHECK(relayed.size() >= 16);  // 4 s of flood
    for (std::size_t i = 4; i < relayed.size(); ++i) CHECK(relayed[i] - relayed[i - 4] >= 1s);
}

TEST_CASE("typing: told again about a session it knows, the relay keeps its throttle") {
    typing_relay r;
    r.open(5, 23);
    CHECK(r.outgoing(5, true, t0).verdict == typing_verdict::relay);
    r.open(5, 23);  // a resume page's NewSession, say
    CHECK(r.outgoing(5, true, t0 + 100ms).verdict == typing_verdict::repeat);
}

TEST_CASE("typing: a login replaces the sessions with the RECONNECT reply's list") {
    typing_relay r;
    r.open(9, 90);
    google::protobuf::RepeatedPtrField<chat::proto::OpenSession> sessions;
    auto* s = sessions.Add();
    s->set_session_id(5);
    s->set_partner_id(23);
    r.reset(sessions);
    CHECK(r.partner(5) == 23);
    CHECK_FALSE(r.partner(9));
    r.reset();
    CHECK(r.size() == 0);
}

TEST_CASE("typing: changes held during a resume apply after it, in order, on top of the reply's list") {
    typing_relay r;
    // Held while the RECONNECT is in flight: a session opened and another ended later.
    r.defer(opened(7, 70));
    r.defer(ended(5));
    r.defer({});  // nothing to remember
    google::protobuf::RepeatedPtrField<chat::proto::OpenSession> sessions;
    auto* s = sessions.Add();
    s->set_session_id(5);
    s->set_partner_id(23);
    r.reset(sessions);  // the reply's list still had 5
    CHECK(r.partner(5) == 23);
    CHECK_FALSE(r.partner(7));
    r.apply_deferred();
    CHECK_FALSE(r.partner(5));
    CHECK(r.partner(7) == 70);
    // Opened then ended while held: gone afterwards.
    r.defer(opened(8, 80));
    r.defer(ended(8));
    r.apply_deferred();
    CHECK_FALSE(r.partner(8));
}

TEST_CASE("typing: clear forgets the sessions and what was held") {
    typing_relay r;
    r.open(5, 23);
    r.defer(opened(7, 70));
    r.clear();
    r.apply_deferred();
    CHECK(r.size() == 0);
}
