// libFuzzer target: any bytes that decode as a proto::Request through logic's own checks
// (refuse_request, and refuse_dialogue_item for each item of a DIALOGUE batch). Logic
// does not trust the bus, so these must hold whatever arrives on it.
//
// Each input must keep: a refusal has a non-zero code and a msg; what passes satisfies
// the rules the store relies on (a bound origin acting as itself, ids > 0, valid
// fields); and whatever logic accepts from a connection, the broker's own parser accepts
// too when a client sends it as JSON (the two checks agree).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "tests/fuzz/expect.hpp"
#include "services/logic/src/request_checks.hpp"
#include "shared/wire/client_frames.hpp"
#include "shared/wire/validate.hpp"

namespace {

using json = nlohmann::json;
namespace wire = chat::wire;
namespace proto = chat::proto;
using chat::fuzz::expect;

void check_refusal(int code, const std::string& msg) {
    expect(code != 0, "a refusal carries code 0");
    expect(!msg.empty(), "a refusal has an empty msg");
}

// The broker parses `frame` (as a client would send it) and must accept it.
wire::client_request broker_accepts(const json& frame) {
    auto parsed = wire::parse_client_frame(frame.dump());
    if (const auto* refusal = std::get_if<wire::frame_error>(&parsed)) {
        std::fprintf(stderr, "broker refused %s: %s\n", frame.dump().c_str(), refusal->msg.c_str());
        expect(false, "logic accepts what the broker refuses");
    }
    return std::get<wire::client_request>(std::move(parsed));
}

void check_acting_as_itself(const proto::Request& r, std::int64_t named) {
    expect(r.origin().account_id() > 0, "accepted a command from a connection without an account");
    expect(named == r.origin().account_id(), "accepted a command naming another account");
}

void check_dialogue_item(const proto::Request& r, const proto::Dialogue& d) {
    if (auto refusal = chat::logic::refuse_dialogue_item(r, d)) {
        check_refusal(refusal->code(), refusal->msg());
        return;
    }
    check_acting_as_itself(r, d.sender_id());
    expect(d.session_id() > 0, "accepted a DIALOGUE with sessionId <= 0");
    expect(!wire::check_request_id(d.request_id()), "accepted a malformed requestId");
    expect(!wire::check_content(d.content()), "accepted malformed content");
    auto request = broker_accepts({{"cmd", "DIALOGUE"},
                                   {"requestId", d.request_id()},
                                   {"senderId", d.sender_id()},
                                   {"sessionId", d.session_id()},
                                   {"content", d.content()}});
    const auto& parsed = std::get<wire::dialogue_request>(request);
    expect(parsed.request_id == d.request_id() && parsed.content == d.content(),
           "the broker's parse of an accepted DIALOGUE differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    proto::Request r;
    if (!r.ParseFromArray(data, static_cast<int>(size)))
        return -1;  // not a Request: not worth keeping

    if (auto refusal = chat::logic::refuse_request(r)) {
        check_refusal(refusal->code(), refusal->msg());
        return 0;
    }
    expect(!r.origin().broker_id().empty() && !r.origin().conn_key().empty(),
           "accepted a command without an origin connection");
    switch (r.body_case()) {
        case proto::Request::kCreateAccount:
            expect(r.origin().account_id() == 0, "accepted CRT_ACCOUNT on a bound connection");
            expect(!wire::check_nickname(r.create_account().nickname()),
                   "accepted a malformed nickname");
            broker_accepts({{"cmd", "CRT_ACCOUNT"}, {"nickName", r.create_account().nickname()}});
            break;
        case proto::Request::kMatch:
            check_acting_as_itself(r, r.match().account_id());
            broker_accepts({{"cmd", "MATCH"}, {"accountId", r.match().account_id()}});
            break;
        case proto::Request::kViewedAck: {
            const auto& v = r.viewed_ack();
            check_acting_as_itself(r, v.account_id());
            broker_accepts({{"cmd", "VIEWED_ACK"},
                            {"sessionId", v.session_id()},
                            {"accountId", v.account_id()},
                            {"msgId", v.msg_id()}});
            break;
        }
        case proto::Request::kLogout:
            check_acting_as_itself(r, r.logout().account_id());
            broker_accepts({{"cmd", "LOGOUT"}, {"accountId", r.logout().account_id()}});
            break;
        case proto::Request::kReconnect:
            expect(r.origin().account_id() == 0, "accepted RECONNECT on a bound connection");
            broker_accepts({{"cmd", "RECONNECT"},
                            {"accountId", r.reconnect().account_id()},
                            {"token", r.reconnect().token()}});
            break;
        case proto::Request::kOffline:
            check_acting_as_itself(r, r.offline().account_id());
            break;
        case proto::Request::kBrokerHello:
            expect(!r.broker_hello().epoch().empty() &&
                       r.broker_hello().broker_id() == r.origin().broker_id(),
                   "accepted a broker hello without its id and epoch");
            break;
        case proto::Request::kDialogue:
            for (const auto& item : r.dialogue().items()) check_dialogue_item(r, item);
            break;
        case proto::Request::kAck:
            expect(r.origin().account_id() > 0,
                   "accepted ACKs from a connection without an account");
            for (const auto& a : r.ack().acks())
                broker_accepts(
                    {{"cmd", "ACK"}, {"sessionId", a.session_id()}, {"msgId", a.msg_id()}});
            break;
        case proto::Request::kResume:
            check_acting_as_itself(r, r.resume().account_id());
            for (const auto& a : r.resume().from())
                expect(a.session_id() > 0 && a.msg_id() > 0,
                       "accepted a resume position with an id <= 0");
            break;
        case proto::Request::BODY_NOT_SET:
            expect(false, "accepted a request without a body");
            break;
        default:  // bodies newer than this target: no crash is all it checks
            break;
    }
    return 0;
}
