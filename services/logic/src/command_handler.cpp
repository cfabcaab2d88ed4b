#include "services/logic/src/command_handler.hpp"

#include "services/logic/src/request_checks.hpp"
#include "shared/util/token.hpp"
#include "shared/wire/validate.hpp"

namespace chat::logic {

proto::Reply command_handler::handle(const proto::Request& r, side_effects& effects) {
    if (auto bad = refuse_request(r)) return *bad;
    switch (r.body_case()) {
        case proto::Request::kCreateAccount: return create_account(r, effects);
        case proto::Request::kMatch: return match(r, effects);
        case proto::Request::kViewedAck: return viewed_ack(r, effects);
        case proto::Request::kLogout: return logout(r, effects);
        case proto::Request::kReconnect: return reconnect(r, effects);
        case proto::Request::kOffline: return offline(r, effects);
        case proto::Request::kBrokerHello: return broker_hello(r, effects);
        case proto::Request::kAck: return ack(r);
        case proto::Request::kResume: return resume(r, effects);
        case proto::Request::kDialogue: {
            auto replies = handle_dialogues({&r}, effects);
            return replies.front();
        }
        case proto::Request::kCancelMatch: return cancel_match(r);
        case proto::Request::kLeave: return leave(r, effects);
        case proto::Request::kBlock: return block(r, r.block().session_id(), std::nullopt, effects);
        case proto::Request::kReport:
            return block(r, r.report().session_id(), report_details{r.report().reason(), r.report().text()}, effects);
        case proto::Request::BODY_NOT_SET: break;
    }
    return error_reply(wire::code::unknown_cmd, "request has no known body");
}

proto::Reply command_handler::create_account(const proto::Request& r, side_effects& effects) {
    const auto& nickname = r.create_account().nickname();
    const auto token = util::random_token();
    const auto normalized = wire::normalize_nickname(nickname);
    const auto id = db_.create_account(normalized, util::sha256_hex(token), where(r), effects.woken);
    proto::Reply reply;
    auto* body = reply.mutable_create_account();
    body->set_account_id(id);
    body->set_nickname(normalized);
    body->set_token(token);
    return reply;
}

match_request command_handler::match_request_of(const proto::Request& r) {
    const auto& m = r.match();
    return {m.account_id(), {m.interests().begin(), m.interests().end()}};
}

proto::Reply command_handler::match(const proto::Request& r, side_effects& effects) {
    return match_reply(db_.match(match_request_of(r), effects.woken));
}

proto::Reply command_handler::cancel_match(const proto::Request& r) {
    if (db_.cancel_match(r.cancel_match().account_id()) != wire::code::ok)
        return error_reply(wire::code::no_data, "you are not waiting for a match");
    return {};
}

proto::Reply command_handler::leave(const proto::Request& r, side_effects& effects) {
    if (db_.leave(r.leave().session_id(), r.origin().account_id(), effects.woken) != wire::code::ok)
        return error_reply(wire::code::session_closed, "you are not in this conversation, or it has ended");
    return {};
}

proto::Reply command_handler::block(const proto::Request& r, std::int64_t session_id,
                                    const std::optional<report_details>& report, side_effects& effects) {
    if (db_.block(session_id, r.origin().account_id(), report, effects.woken) != wire::code::ok)
        return error_reply(wire::code::session_closed, "you were not in this conversation");
    return {};
}

connection_ref command_handler::where(const proto::Request& r) {
    return {r.origin().broker_id(), r.origin().conn_key(), r.origin().client_address()};
}

std::vector<proto::Reply> command_handler::handle_matches(const std::vector<const proto::Request*>& requests,
                                                          side_effects& effects) {
    std::vector<proto::Reply> replies(requests.size());
    std::vector<match_request> asks;
    std::vector<std::size_t> slots;  // the request each outcome answers
    for (std::size_t i = 0; i < requests.size(); ++i) {
        if (auto refused = refuse_request(*requests[i])) {
            replies[i] = *refused;
            continue;
        }
        slots.push_back(i);
        asks.push_back(match_request_of(*requests[i]));
    }
    if (asks.empty()) return replies;
    const auto outcomes = db_.match_many(asks, effects.woken);
    for (std::size_t k = 0; k < outcomes.size(); ++k) replies[slots[k]] = match_reply(outcomes[k]);
    return replies;
}

proto::Reply command_handler::match_reply(const match_outcome& outcome) {
    if (outcome.code != wire::code::ok) {
        auto reply = error_reply(outcome.code, outcome.msg);
        if (!outcome.banned_until.empty()) reply.mutable_match()->set_banned_until(outcome.banned_until);
        return reply;
    }
    proto::Reply reply;
    auto* body = reply.mutable_match();
    body->set_partner_id(outcome.partner_id);
    body->set_partner_name(outcome.partner_name);
    body->set_session_id(outcome.session_id);
    for (const auto& tag : outcome.common_interests) body->add_common_interests(tag);
    return reply;
}

std::vector<proto::Reply> command_handler::handle_dialogues(const std::vector<const proto::Request*>& requests,
                                                            side_effects& effects) {
    std::vector<proto::Reply> replies(requests.size());
    std::vector<dialogue_item> items;
    // Where each valid item's outcome goes: (request index, item index).
    std::vector<std::pair<std::size_t, int>> slots;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto& r = *requests[i];
        auto* results = replies[i].mutable_dialogue();
        for (const auto& d : r.dialogue().items()) {
            auto* result = results->add_results();
            if (auto refused = refuse_dialogue_item(r, d)) {
                *result = *refused;
                continue;
            }
            slots.emplace_back(i, results->results_size() - 1);
            items.push_back({d.session_id(), d.sender_id(), d.request_id(), d.content()});
        }
    }
    if (items.empty()) return replies;
    const auto outcomes = db_.store_dialogues(items, effects.woken);
    for (std::size_t k = 0; k < outcomes.size(); ++k) {
        auto* result = replies[slots[k].first].mutable_dialogue()->mutable_results(slots[k].second);
        result->set_code(wire::to_int(outcomes[k].code));
        result->set_msg(outcomes[k].msg);
        result->set_msg_id(outcomes[k].msg_id);
    }
    return replies;
}

proto::Reply command_handler::viewed_ack(const proto::Request& r, side_effects& effects) {
    const auto& v = r.viewed_ack();
    const auto outcome = db_.viewed_ack(v.session_id(), v.account_id(), v.msg_id(), effects.woken);
    if (outcome.code != wire::code::ok) return error_reply(outcome.code, outcome.msg);
    return {};
}

proto::Reply command_handler::logout(const proto::Request& r, side_effects& effects) {
    if (!db_.take_offline(r.logout().account_id(), r.origin().conn_key(), /*revoke_token=*/true, effects.woken))
        return error_reply(wire::code::not_logged_in, "this connection is no longer bound to the account");
    return {};
}

proto::Reply command_handler::reconnect(const proto::Request& r, side_effects& effects) {
    const auto& rc = r.reconnect();
    const auto outcome = db_.reconnect(rc.account_id(), util::sha256_hex(rc.token()), where(r), effects.woken);
    if (outcome.code != wire::code::ok) return error_reply(outcome.code, outcome.msg);
    if (outcome.replaced_broker) {
        proto::Push push;
        auto* kick = push.add_kicks();
        kick->set_account_id(rc.account_id());
        kick->set_conn_key(outcome.replaced_conn_key);
        effects.pushes.emplace_back(*outcome.replaced_broker, std::move(push));
    }
    proto::Reply reply;
    auto* body = reply.mutable_reconnect();
    body->set_account_id(rc.account_id());
    body->set_nickname(outcome.nickname);
    for (const auto& s : outcome.sessions) {
        auto* open = body->add_sessions();
        open->set_session_id(s.session_id);
        open->set_partner_id(s.partner_id);
        open->set_partner_name(s.partner_name);
        for (const auto& tag : s.common_interests) open->add_common_interests(tag);
    }
    body->set_waiting(outcome.waiting);
    set_resume(*body->mutable_resume(), outcome.resume);
    return reply;
}

proto::Reply command_handler::resume(const proto::Request& r, side_effects& effects) {
    std::vector<std::pair<std::int64_t, std::int64_t>> from;
    for (const auto& a : r.resume().from()) from.emplace_back(a.session_id(), a.msg_id());
    resume_page page;
    const auto c = db_.resume(r.resume().account_id(), r.origin().conn_key(), from, page, effects.woken);
    if (c != wire::code::ok) return error_reply(c, "this connection is no longer bound to the account");
    proto::Reply reply;
    set_resume(*reply.mutable_resume(), page);
    return reply;
}

proto::Reply command_handler::ack(const proto::Request& r) {
    side_effects none;
    return handle_acks({&r}, none).front();
}

std::vector<proto::Reply> command_handler::handle_acks(const std::vector<const proto::Request*>& requests,
                                                       side_effects& /*effects*/) {
    std::vector<proto::Reply> replies(requests.size());
    std::vector<account_acks> batches;
    std::vector<std::size_t> slots;  // the request each batch answers
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto& r = *requests[i];
        if (auto refused = refuse_request(r)) {
            replies[i] = *refused;
            continue;
        }
        account_acks batch{r.origin().account_id(), {}};
        for (const auto& a : r.ack().acks()) batch.acks.emplace_back(a.session_id(), a.msg_id());
        slots.push_back(i);
        batches.push_back(std::move(batch));
    }
    if (batches.empty()) return replies;
    const auto rejected = db_.ack_many(batches);
    for (std::size_t k = 0; k < rejected.size(); ++k) replies[slots[k]] = ack_reply(rejected[k]);
    return replies;
}

proto::Reply command_handler::ack_reply(const std::vector<ack_rejection>& rejected) {
    proto::Reply reply;
    auto* body = reply.mutable_ack();
    for (const auto& refused : rejected) {
        auto* out = body->add_rejected();
        out->set_session_id(refused.session_id);
        out->set_msg_id(refused.msg_id);
        out->set_code(wire::to_int(refused.code));
        out->set_msg(refused.msg);
    }
    return reply;
}

void command_handler::set_resume(proto::ResumeReply& out, const resume_page& page) {
    for (const auto& d : page.deliveries) *out.add_deliveries() = d;
    out.set_more(page.more);
}

proto::Reply command_handler::offline(const proto::Request& r, side_effects& effects) {
    db_.connection_lost(r.offline().account_id(), r.origin().conn_key(), effects.woken);
    return {};  // already offline or replaced: nothing to do, and that is fine
}

proto::Reply command_handler::broker_hello(const proto::Request& r, side_effects& effects) {
    const auto& h = r.broker_hello();
    db_.broker_hello(h.broker_id(), h.epoch(), effects.woken);
    return {};
}

}  // namespace chat::logic
