#include "services/logic/src/settings.hpp"

namespace chat::logic {

logic_settings load_logic_settings(const config::source& from) {
    auto root = config::load_file(from);
    logic_settings s;
    {
        auto logic = root.child("logic");
        s.workers = logic.get_int("workers", s.workers, 1, 64);
        s.dialogue_batch_max = logic.get_int("dialogue_batch_max", s.dialogue_batch_max, 1, 1000);
        s.dialogue_transactions = logic.get_int("dialogue_transactions", s.dialogue_transactions, 1, 64);
        s.match_transactions = logic.get_int("match_transactions", s.match_transactions, 1, 64);
        logic.finish();
    }
    {
        auto presence = root.child("presence");
        s.broker_timeout = presence.get_duration("broker_timeout", s.broker_timeout);
        s.sweep_interval = presence.get_duration("sweep_interval", s.sweep_interval);
        s.presence.grace = presence.get_duration("grace", s.presence.grace);
        s.presence.token_ttl = presence.get_duration("token_ttl", s.presence.token_ttl);
        presence.finish();
    }
    {
        auto matching = root.child("matching");
        s.matching.interest_wait = matching.get_duration("interest_wait", s.matching.interest_wait);
        s.matching.repeat_window = matching.get_duration("repeat_window", s.matching.repeat_window);
        s.matching.max_conversations = matching.get_int("max_conversations", s.matching.max_conversations, 1, 100);
        matching.finish();
    }
    {
        auto moderation = root.child("moderation");
        s.matching.report_threshold =
            moderation.get_int("report_threshold", s.matching.report_threshold, 1, 1000);
        s.matching.report_window = moderation.get_duration("report_window", s.matching.report_window);
        s.matching.ban_duration = moderation.get_duration("ban_duration", s.matching.ban_duration);
        moderation.finish();
    }
    s.nats = config::read_nats(root);
    s.postgres = config::read_postgres(root);
    s.log = config::read_log(root);
    s.http = config::read_status_http(root);
    root.finish();
    return s;
}

}  // namespace chat::logic
