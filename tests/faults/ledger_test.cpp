// The fault suite's arithmetic, without any process: what counts as lost, duplicated,
// out of order and redelivered.
#include "tests/faults/ledger.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using chat::faults::ledger;

namespace {

// Client 0 (account 100) and client 1 (account 200) share session 7.
constexpr std::int64_t k_session = 7;

std::size_t send(ledger& book) { return book.create(0, 100, k_session); }

void show(ledger& book, std::size_t index, std::int64_t msg_id) {
    book.pushed(1, 200, k_session, msg_id, 100, book.content(index));
}

}  // namespace

TEST_CASE("a clean exchange counts every message once", "[faults]") {
    ledger book;
    for (std::int64_t id = 1; id <= 3; ++id) {
        auto m = send(book);
        book.acknowledged(m, k_session, id);
        show(book, m, id);
    }
    auto s = book.compute();
    CHECK(s.line() == "sent 3 acknowledged 3 delivered 3 lost 0 duplicated 0 out_of_order 0");
    CHECK(s.ok());
}

TEST_CASE("an acknowledged message never shown is lost, an unanswered one is not", "[faults]") {
    ledger book;
    auto a = send(book);
    book.acknowledged(a, k_session, 1);
    send(book);  // never answered
    auto s = book.compute();
    CHECK(s.lost == 1);
    CHECK(s.unanswered == 1);
    CHECK(s.acknowledged == 1);
    CHECK_FALSE(s.ok());
}

TEST_CASE("redelivery of the same content is dropped and only counted", "[faults]") {
    ledger book;
    auto a = send(book);
    book.acknowledged(a, k_session, 1);
    show(book, a, 1);
    show(book, a, 1);
    auto s = book.compute();
    CHECK(s.redelivered == 1);
    CHECK(s.duplicated == 0);
    CHECK(s.delivered == 1);
}

TEST_CASE("a resend stored twice is a duplicate", "[faults]") {
    ledger book;
    auto a = send(book);
    book.resent(a);
    book.acknowledged(a, k_session, 1);
    book.acknowledged(a, k_session, 2);  // the resend got a second msgId
    show(book, a, 1);
    show(book, a, 2);
    auto s = book.compute();
    CHECK(s.duplicated == 1);
    CHECK(s.retries == 1);
}

TEST_CASE("one msgId with two contents is a duplicate of both", "[faults]") {
    ledger book;
    auto a = send(book);
    auto b = send(book);
    book.acknowledged(a, k_session, 1);
    book.acknowledged(b, k_session, 2);
    show(book, a, 1);
    book.pushed(1, 200, k_session, 1, 100, book.content(b));  // msgId 1 again, b's words
    show(book, b, 2);
    auto s = book.compute();
    CHECK(s.duplicated == 2);
}

TEST_CASE("a new msgId below one already shown is out of order", "[faults]") {
    ledger book;
    auto a = send(book);
    auto b = send(book);
    book.acknowledged(a, k_session, 1);
    book.acknowledged(b, k_session, 2);
    show(book, b, 2);
    show(book, a, 1);
    auto s = book.compute();
    CHECK(s.out_of_order == 1);
    CHECK(s.lost == 0);
}

TEST_CASE("msgIds against a client's send order are reported", "[faults]") {
    ledger book;
    auto a = send(book);
    auto b = send(book);
    book.acknowledged(a, k_session, 2);  // a was answered on its only send...
    book.acknowledged(b, k_session, 1);  // ...so b, written after it, must be above it
    show(book, a, 2);
    show(book, b, 1);
    CHECK(book.compute().send_order_violations == 1);

    ledger retried;
    auto c = retried.create(0, 100, k_session);
    auto d = retried.create(0, 100, k_session);
    retried.resent(c);  // c's first send may have been lost: a later msgId is fine
    retried.acknowledged(d, k_session, 1);
    retried.acknowledged(c, k_session, 2);
    CHECK(retried.compute().send_order_violations == 0);
}

TEST_CASE("messages are counted in the phase they were written in", "[faults]") {
    ledger book;
    book.begin_phase("warm-up");
    auto a = send(book);
    book.acknowledged(a, k_session, 1);
    show(book, a, 1);
    book.begin_phase("1 broker");
    auto b = send(book);
    book.acknowledged(b, k_session, 2);
    auto s = book.compute();
    REQUIRE(s.phases.size() == 3);
    CHECK(s.phases[1].lost == 0);
    CHECK(s.phases[2].name == "1 broker");
    CHECK(s.phases[2].lost == 1);
}

TEST_CASE("recovery counts from the fault to the first acknowledgement of a newer message", "[faults]") {
    using namespace std::chrono_literals;
    ledger book;
    auto older = send(book);  // written before the fault, answered after it
    auto fault = chat::faults::steady::now();
    std::this_thread::sleep_for(20ms);
    book.acknowledged(older, k_session, 1);
    auto newer = send(book);
    std::this_thread::sleep_for(60ms);
    book.acknowledged(newer, k_session, 2);
    auto until = chat::faults::steady::now() + 10ms;

    auto r = book.recovery_after(fault, until);
    REQUIRE(r.first_ack);
    // The older message's answer came first but says nothing about recovery.
    CHECK(*r.first_ack >= 80ms);
    // Between the two acknowledgements: at least the 60 ms of silence.
    CHECK(r.longest_gap >= 60ms);
    CHECK(r.longest_gap < *r.first_ack);
}

TEST_CASE("recovery without any acknowledgement is one gap from the fault to the end", "[faults]") {
    using namespace std::chrono_literals;
    ledger book;
    auto fault = chat::faults::steady::now();
    send(book);
    auto r = book.recovery_after(fault, fault + 5s);
    CHECK_FALSE(r.first_ack);
    CHECK(r.longest_gap == 5s);
}
