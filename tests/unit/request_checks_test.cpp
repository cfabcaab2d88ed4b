#include <catch2/catch.hpp>

#include "services/logic/src/request_checks.hpp"

using namespace chat;
using chat::logic::refuse_dialogue_item;
using chat::logic::refuse_request;
using chat::wire::code;

namespace {

proto::Request from(std::int64_t account_id) {
    proto::Request r;
    r.mutable_origin()->set_broker_id("b1");
    r.mutable_origin()->set_conn_key("e/1");
    r.mutable_origin()->set_account_id(account_id);
    return r;
}

int refused_code(const proto::Request& r) {
    auto refusal = refuse_request(r);
    return refusal ? refusal->code() : 0;
}

}  // namespace

TEST_CASE("a request without an origin connection or a body is refused") {
    proto::Request bare;
    bare.mutable_match()->set_account_id(1);
    CHECK(refused_code(bare) == static_cast<int>(code::param_error));
    CHECK(refused_code(from(1)) == static_cast<int>(code::unknown_cmd));
}

TEST_CASE("a connection acts only as its own account") {
    auto match = from(7);
    match.mutable_match()->set_account_id(7);
    CHECK(refused_code(match) == 0);
    match.mutable_match()->set_account_id(8);
    CHECK(refused_code(match) == static_cast<int>(code::forbidden));
    auto anonymous = from(0);
    anonymous.mutable_match()->set_account_id(7);
    CHECK(refused_code(anonymous) == static_cast<int>(code::not_logged_in));

    auto logout = from(7);
    logout.mutable_logout()->set_account_id(9);
    CHECK(refused_code(logout) == static_cast<int>(code::forbidden));
    auto viewed = from(7);
    viewed.mutable_viewed_ack()->set_session_id(1);
    viewed.mutable_viewed_ack()->set_account_id(9);
    viewed.mutable_viewed_ack()->set_msg_id(1);
    CHECK(refused_code(viewed) == static_cast<int>(code::forbidden));
    auto offline = from(7);
    offline.mutable_offline()->set_account_id(9);
    CHECK(refused_code(offline) == static_cast<int>(code::forbidden));
}

TEST_CASE("logins need an unbound connection and well-formed fields") {
    auto create = from(0);
    create.mutable_create_account()->set_nickname("alice");
    CHECK(refused_code(create) == 0);
    create.mutable_create_account()->set_nickname("");
    CHECK(refused_code(create) == static_cast<int>(code::param_error));
    auto bound = from(3);
    bound.mutable_create_account()->set_nickname("alice");
    CHECK(refused_code(bound) == static_cast<int>(code::already_logged_in));

    auto reconnect = from(0);
    reconnect.mutable_reconnect()->set_account_id(3);
    reconnect.mutable_reconnect()->set_token(std::string(64, 'a'));
    CHECK(refused_code(reconnect) == 0);
    reconnect.mutable_reconnect()->set_token("not-a-token");
    CHECK(refused_code(reconnect) == static_cast<int>(code::param_error));
    reconnect.mutable_reconnect()->set_token(std::string(64, 'a'));
    reconnect.mutable_reconnect()->set_account_id(0);
    CHECK(refused_code(reconnect) == static_cast<int>(code::param_error));
}

TEST_CASE("a broker hello must name the broker that sends it") {
    auto hello = from(0);
    hello.mutable_broker_hello()->set_broker_id("b1");
    hello.mutable_broker_hello()->set_epoch("e");
    CHECK(refused_code(hello) == 0);
    hello.mutable_broker_hello()->set_broker_id("b2");
    CHECK(refused_code(hello) == static_cast<int>(code::param_error));
}

TEST_CASE("each DIALOGUE of a batch is checked on its own") {
    auto r = from(7);
    proto::Dialogue d;
    d.set_request_id("r1");
    d.set_sender_id(7);
    d.set_session_id(3);
    d.set_content("hello");
    CHECK_FALSE(refuse_dialogue_item(r, d));
    auto spoofed = d;
    spoofed.set_sender_id(8);
    CHECK(refuse_dialogue_item(r, spoofed)->code() == static_cast<int>(code::forbidden));
    auto empty = d;
    empty.set_content("  ");
    CHECK(refuse_dialogue_item(r, empty)->code() == static_cast<int>(code::param_error));
    auto no_session = d;
    no_session.set_session_id(0);
    CHECK(refuse_dialogue_item(r, no_session)->code() == static_cast<int>(code::param_error));
    auto bad_request_id = d;
    bad_request_id.set_request_id(std::string(65, 'x'));
    CHECK(refuse_dialogue_item(r, bad_request_id)->code() == static_cast<int>(code::param_error));
    CHECK(refuse_dialogue_item(from(0), d)->code() == static_cast<int>(code::not_logged_in));
}
