#include <catch2/catch.hpp>
#include <vector>

#include "services/dispatcher/src/push_batcher.hpp"

using chat::dispatcher::push_batcher;

namespace {

chat::proto::Delivery message(std::int64_t msg_id, std::size_t content_bytes = 10) {
    chat::proto::Delivery d;
    d.set_kind(chat::proto::Delivery::MESSAGE);
    d.set_receiver_id(1);
    d.set_session_id(1);
    d.set_msg_id(msg_id);
    d.set_content(std::string(content_bytes, 'x'));
    return d;
}

}  // namespace

TEST_CASE("deliveries are grouped per broker and keep their order") {
    std::vector<std::pair<std::string, chat::proto::Push>> published;
    push_batcher batcher(1 << 20, [&](const std::string& broker, const chat::proto::Push& p) {
        published.emplace_back(broker, p);
    });
    batcher.add("b1", message(1));
    batcher.add("b2", message(2));
    batcher.add("b1", message(3));
    CHECK(published.empty());  // nothing goes before flush while under the size limit
    batcher.flush();
    REQUIRE(published.size() == 2);
    CHECK(published[0].first == "b1");
    REQUIRE(published[0].second.deliveries_size() == 2);
    CHECK(published[0].second.deliveries(0).msg_id() == 1);
    CHECK(published[0].second.deliveries(1).msg_id() == 3);
    CHECK(published[1].first == "b2");
    CHECK(published[1].second.deliveries_size() == 1);
}

TEST_CASE("a push is cut before it would exceed the size limit, in order") {
    std::vector<chat::proto::Push> published;
    push_batcher batcher(10 * 1024, [&](const std::string&, const chat::proto::Push& p) { published.push_back(p); });
    for (int i = 1; i <= 10; ++i) batcher.add("b1", message(i, 4000));
    batcher.flush();
    REQUIRE(published.size() >= 4);
    std::int64_t expected = 1;
    for (const auto& p : published) {
        CHECK(p.ByteSizeLong() <= 10 * 1024);
        for (const auto& d : p.deliveries()) CHECK(d.msg_id() == expected++);
    }
    CHECK(expected == 11);
}
