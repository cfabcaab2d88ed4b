#include "services/logic/src/request_checks.hpp"

#include <initializer_list>
#include <utility>

#include "shared/wire/limits.hpp"
#include "shared/wire/validate.hpp"

namespace chat::logic {
namespace {

using wire::code;

// The connection must be bound, and to the very account the command names.
std::optional<proto::Reply> check_acting_as(const proto::Request& r, std::int64_t named_account) {
    if (r.origin().account_id() == 0) return error_reply(code::not_logged_in, "log in first");
    if (named_account != r.origin().account_id())
        return error_reply(code::forbidden, "a connection can only act as its own account");
    return std::nullopt;
}

std::optional<proto::Reply> check_ids(std::initializer_list<std::pair<const char*, std::int64_t>> ids) {
    for (const auto& [field, id] : ids)
        if (auto problem = wire::check_id(field, id)) return error_reply(code::param_error, *problem);
    return std::nullopt;
}

std::optional<proto::Reply> check_not_logged_in(const proto::Request& r) {
    if (r.origin().account_id() != 0)
        return error_reply(code::already_logged_in, "this connection already has an account");
    return std::nullopt;
}

// LEAVE, BLOCK, REPORT: for the connection's own account, which it must have.
std::optional<proto::Reply> check_session_command(const proto::Request& r, std::int64_t session_id) {
    if (auto bad = check_ids({{"sessionId", session_id}})) return bad;
    if (r.origin().account_id() == 0) return error_reply(code::not_logged_in, "log in first");
    return std::nullopt;
}

// Checks that need the whole request, by command.
std::optional<proto::Reply> refuse_body(const proto::Request& r) {
    switch (r.body_case()) {
        case proto::Request::kCreateAccount: {
            if (auto bad = check_not_logged_in(r)) return bad;
            if (auto problem = wire::check_nickname(r.create_account().nickname()))
                return error_reply(code::param_error, *problem);
            return std::nullopt;
        }
        case proto::Request::kMatch: {
            if (auto bad = check_ids({{"accountId", r.match().account_id()}})) return bad;
            if (static_cast<std::size_t>(r.match().interests_size()) > wire::k_max_interests)
                return error_reply(code::param_error, "too many interests");
            for (const auto& tag : r.match().interests())
                if (auto problem = wire::check_interest(tag)) return error_reply(code::param_error, *problem);
            return check_acting_as(r, r.match().account_id());
        }
        case proto::Request::kCancelMatch: {
            if (auto bad = check_ids({{"accountId", r.cancel_match().account_id()}})) return bad;
            return check_acting_as(r, r.cancel_match().account_id());
        }
        case proto::Request::kLeave: return check_session_command(r, r.leave().session_id());
        case proto::Request::kBlock: return check_session_command(r, r.block().session_id());
        case proto::Request::kReport: {
            if (!wire::is_report_reason(r.report().reason()))
                return error_reply(code::param_error, "unknown report reason");
            if (auto problem = wire::check_report_text(r.report().text())) return error_reply(code::param_error, *problem);
            return check_session_command(r, r.report().session_id());
        }
        case proto::Request::kViewedAck: {
            const auto& v = r.viewed_ack();
            if (auto bad = check_ids({{"sessionId", v.session_id()}, {"accountId", v.account_id()}, {"msgId", v.msg_id()}}))
                return bad;
            return check_acting_as(r, v.account_id());
        }
        case proto::Request::kLogout: {
            if (auto bad = check_ids({{"accountId", r.logout().account_id()}})) return bad;
            return check_acting_as(r, r.logout().account_id());
        }
        case proto::Request::kReconnect: {
            if (auto bad = check_not_logged_in(r)) return bad;
            if (auto bad = check_ids({{"accountId", r.reconnect().account_id()}})) return bad;
            if (auto problem = wire::check_token(r.reconnect().token())) return error_reply(code::param_error, *problem);
            return std::nullopt;
        }
        case proto::Request::kOffline: {
            if (auto bad = check_ids({{"accountId", r.offline().account_id()}})) return bad;
            return check_acting_as(r, r.offline().account_id());
        }
        case proto::Request::kBrokerHello: {
            const auto& h = r.broker_hello();
            if (h.broker_id().empty() || h.epoch().empty() || h.broker_id() != r.origin().broker_id())
                return error_reply(code::param_error, "broker hello needs its broker id and epoch");
            return std::nullopt;
        }
        case proto::Request::kDialogue:
            return std::nullopt;  // item by item
        case proto::Request::kAck: {
            if (r.origin().account_id() == 0) return error_reply(code::not_logged_in, "log in first");
            for (const auto& a : r.ack().acks())
                if (auto bad = check_ids({{"sessionId", a.session_id()}, {"msgId", a.msg_id()}})) return bad;
            return std::nullopt;
        }
        case proto::Request::kResume: {
            if (auto bad = check_ids({{"accountId", r.resume().account_id()}})) return bad;
            for (const auto& a : r.resume().from())
                if (auto bad = check_ids({{"sessionId", a.session_id()}, {"msgId", a.msg_id()}})) return bad;
            return check_acting_as(r, r.resume().account_id());
        }
        case proto::Request::BODY_NOT_SET:
            break;
    }
    return error_reply(code::unknown_cmd, "request has no known body");
}

}  // namespace

proto::Reply error_reply(wire::code c, const std::string& msg) {
    proto::Reply reply;
    reply.set_code(wire::to_int(c));
    reply.set_msg(msg);
    return reply;
}

std::optional<proto::Reply> refuse_request(const proto::Request& r) {
    if (r.origin().broker_id().empty() || r.origin().conn_key().empty())
        return error_reply(code::param_error, "command has no origin connection");
    return refuse_body(r);
}

std::optional<proto::DialogueResult> refuse_dialogue_item(const proto::Request& r, const proto::Dialogue& d) {
    std::optional<proto::Reply> bad = check_ids({{"senderId", d.sender_id()}, {"sessionId", d.session_id()}});
    if (!bad) bad = check_acting_as(r, d.sender_id());
    if (!bad)
        if (auto problem = wire::check_request_id(d.request_id())) bad = error_reply(code::param_error, *problem);
    if (!bad)
        if (auto problem = wire::check_content(d.content())) bad = error_reply(code::param_error, *problem);
    if (!bad) return std::nullopt;
    proto::DialogueResult result;
    result.set_code(bad->code());
    result.set_msg(bad->msg());
    return result;
}

}  // namespace chat::logic
