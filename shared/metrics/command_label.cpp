#include "shared/metrics/command_label.hpp"

namespace chat::metrics {

std::string_view command_label(const proto::Request& request) {
    switch (request.body_case()) {
        case proto::Request::kCreateAccount: return "CRT_ACCOUNT";
        case proto::Request::kMatch: return "MATCH";
        case proto::Request::kDialogue: return "DIALOGUE";
        case proto::Request::kViewedAck: return "VIEWED_ACK";
        case proto::Request::kLogout: return "LOGOUT";
        case proto::Request::kReconnect: return "RECONNECT";
        case proto::Request::kOffline: return "OFFLINE";
        case proto::Request::kBrokerHello: return "BROKER_HELLO";
        case proto::Request::kAck: return "ACK";
        case proto::Request::kResume: return "RESUME";
        case proto::Request::kCancelMatch: return "CANCEL_MATCH";
        case proto::Request::kLeave: return "LEAVE";
        case proto::Request::kBlock: return "BLOCK";
        case proto::Request::kReport: return "REPORT";
        case proto::Request::BODY_NOT_SET: break;
    }
    return "NONE";
}

const std::vector<std::string>& all_command_labels() {
    static const std::vector<std::string> labels = {
        "CRT_ACCOUNT", "MATCH",        "DIALOGUE", "VIEWED_ACK", "LOGOUT", "RECONNECT", "OFFLINE", "BROKER_HELLO",
        "ACK",         "CANCEL_MATCH", "LEAVE",    "BLOCK",      "REPORT", "RESUME",    "NONE"};
    return labels;
}

}  // namespace chat::metrics
