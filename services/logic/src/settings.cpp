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
    {
        auto retention = root.child("retention");
        auto& r = s.retention;
        r.enabled = retention.get_bool("enabled", r.enabled);
        r.messages = retention.get_duration("messages", r.messages);
        r.accounts = retention.get_duration("accounts", r.accounts);
        r.reports = retention.get_duration("reports", r.reports);
        r.interval = retention.get_duration("interval", r.interval);
        r.batch = retention.get_int("batch", r.batch, 1, 100'000);
        r.pause = retention.get_duration("pause", r.pause);
        retention.finish();
        if (r.interval.count() == 0) throw config::config_error("retention.interval must be above 0");
        // The rules look back this far: a shorter window would let a repeat partner or a
        // brigade slip through (0 keeps that kind forever).
        if (r.messages.count() > 0 && r.messages < s.matching.repeat_window)
            throw config::config_error("retention.messages must be at least matching.repeat_window");
        if (r.reports.count() > 0 && r.reports < s.matching.report_window)
            throw config::config_error("retention.reports must be at least moderation.report_window");
    }
    s.nats = config::read_nats(root);
    s.postgres = config::read_postgres(root);
    s.log = config::read_log(root);
    s.http = config::read_status_http(root);
    {
        auto admin = root.child("admin");
        auto& a = s.admin;
        a.address = admin.get_string("address", a.address);
        a.port = admin.get_int("port", a.port, 0, 65535);
        a.token_file = admin.get_string("token_file", a.token_file);
        a.web_root = admin.get_string("web_root", a.web_root);
        admin.finish();
        if (a.port != 0) {
            if (a.token_file.empty()) throw config::config_error("admin.port needs admin.token_file");
            a.token = config::read_secret_file(a.token_file, "admin.token_file");
            // Guessable tokens make the listener's address the only lock.
            if (a.token.size() < 32)
                throw config::config_error("admin.token_file: the token is shorter than 32 characters "
                                           "(make one with `openssl rand -hex 32`)");
        }
    }
    root.finish();
    return s;
}

}  // namespace chat::logic
