#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "services/broker/src/resume_pager.hpp"

using chat::broker::hold_result;
using chat::broker::resume_next;
using chat::broker::resume_pager;
using chat::proto::Delivery;
using namespace std::chrono_literals;

namespace {

resume_pager::frame frame(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

chat::proto::ResumeReply page(bool more, std::vector<std::pair<std::int64_t, std::int64_t>> messages = {}) {
    chat::proto::ResumeReply p;
    p.set_more(more);
    for (auto [session, msg] : messages) {
        auto* d = p.add_deliveries();
        d->set_kind(Delivery::MESSAGE);
        d->set_session_id(session);
        d->set_msg_id(msg);
    }
    return p;
}

std::vector<std::string> texts(const std::deque<resume_pager::frame>& frames) {
    std::vector<std::string> out;
    for (const auto& f : frames) out.push_back(*f);
    return out;
}

}  // namespace

TEST_CASE("resume: pushes are held while resuming and released in order after the last page") {
    resume_pager r(100);
    CHECK(r.hold(frame("before")) == hold_result::write);  // no resume: straight out
    r.start();
    CHECK(r.active());
    CHECK(r.hold(frame("p1")) == hold_result::held);
    CHECK(r.hold(frame("p2")) == hold_result::held);
    CHECK(r.on_page(page(true), 0) == resume_next::request_page);
    CHECK(r.hold(frame("p3")) == hold_result::held);  // still held between pages
    CHECK(r.on_page(page(false), 0) == resume_next::finish);
    CHECK(texts(r.finish()) == std::vector<std::string>{"p1", "p2", "p3"});
    CHECK_FALSE(r.active());
    CHECK(r.held() == 0);
    CHECK(r.hold(frame("after")) == hold_result::write);
}

TEST_CASE("resume: holding more than the limit ends the connection") {
    resume_pager r(2);
    r.start();
    CHECK(r.hold(frame("a")) == hold_result::held);
    CHECK(r.hold(frame("b")) == hold_result::held);
    CHECK(r.hold(frame("c")) == hold_result::over_limit);
    CHECK(r.held() == 2);
    r.drop_held();
    CHECK(r.finish().empty());
}

TEST_CASE("resume: pages are paced by the outbound queue's low-water mark") {
    resume_pager r(100);
    r.start();
    // The queue is long after writing this page: wait until it drains below 32.
    CHECK(r.on_page(page(true), 500) == resume_next::none);
    CHECK(r.on_written(100) == resume_next::none);
    CHECK(r.on_written(resume_pager::k_low_water) == resume_next::none);
    CHECK(r.on_written(resume_pager::k_low_water - 1) == resume_next::request_page);
    CHECK(r.on_written(3) == resume_next::none);  // asked for once per page
    CHECK(r.on_page(page(true), resume_pager::k_low_water - 1) == resume_next::request_page);  // short already
    CHECK(r.on_written(0) == resume_next::none);
    // No paging without a resume.
    resume_pager idle(100);
    CHECK(idle.on_written(0) == resume_next::none);
}

TEST_CASE("resume: the next page starts after the highest message re-sent per session") {
    resume_pager r(100);
    r.start();
    auto p = page(true, {{1, 10}, {1, 12}, {2, 7}, {1, 11}});
    auto* viewed = p.add_deliveries();  // not a message: no position
    viewed->set_kind(Delivery::VIEWED);
    viewed->set_session_id(3);
    viewed->set_msg_id(99);
    REQUIRE(r.on_page(p, 0) == resume_next::request_page);
    CHECK(r.positions() == std::map<std::int64_t, std::int64_t>{{1, 12}, {2, 7}});
    REQUIRE(r.on_page(page(true, {{2, 9}}), 0) == resume_next::request_page);
    CHECK(r.positions() == std::map<std::int64_t, std::int64_t>{{1, 12}, {2, 9}});
    REQUIRE(r.on_page(page(false), 0) == resume_next::finish);
    r.finish();
    CHECK(r.positions().empty());
}

TEST_CASE("resume: a bus loss during a resume runs another from the start") {
    resume_pager r(100);
    r.start();
    REQUIRE(r.on_page(page(true, {{1, 10}}), 0) == resume_next::request_page);
    CHECK(r.bus_lost(true) == resume_next::none);  // one is running: no second in parallel
    CHECK(r.hold(frame("p")) == hold_result::held);
    // Its last page: not the end, a new resume from the start.
    CHECK(r.on_page(page(false, {{1, 11}}), 0) == resume_next::request_page);
    CHECK(r.positions().empty());
    CHECK(r.active());
    CHECK(r.on_page(page(false, {{1, 11}}), 0) == resume_next::finish);
    CHECK(texts(r.finish()) == std::vector<std::string>{"p"});
}

TEST_CASE("resume: a bus loss starts a resume only for a logged-in connection") {
    resume_pager r(100);
    CHECK(r.bus_lost(false) == resume_next::none);
    CHECK_FALSE(r.active());
    CHECK(r.bus_lost(true) == resume_next::request_page);
    CHECK(r.active());
    CHECK(r.hold(frame("p")) == hold_result::held);
}

TEST_CASE("resume: an unanswered page is retried with backoff, then the connection closes") {
    resume_pager r(100);
    r.start();
    CHECK(r.on_page_failed(false) == resume_next::retry_later);
    CHECK(r.retry_delay() == 250ms);
    CHECK(r.on_page_failed(false) == resume_next::retry_later);
    CHECK(r.retry_delay() == 500ms);
    CHECK(r.on_page_failed(false) == resume_next::retry_later);
    CHECK(r.retry_delay() == 750ms);
    CHECK(r.on_page_failed(false) == resume_next::close);  // the 4th try failed
    CHECK(r.active());  // never released past a gap: the held pushes are not written
}

TEST_CASE("resume: a page that arrives resets the tries, a refusal closes at once") {
    resume_pager r(100);
    r.start();
    CHECK(r.on_page_failed(false) == resume_next::retry_later);
    CHECK(r.on_page_failed(false) == resume_next::retry_later);
    REQUIRE(r.on_page(page(true), 0) == resume_next::request_page);
    CHECK(r.failures() == 0);
    CHECK(r.on_page_failed(false) == resume_next::retry_later);
    CHECK(r.on_page_failed(false) == resume_next::retry_later);
    CHECK(r.on_page_failed(false) == resume_next::retry_later);
    CHECK(r.on_page_failed(false) == resume_next::close);

    resume_pager refused(100);
    refused.start();
    CHECK(refused.on_page_failed(true) == resume_next::close);
}
