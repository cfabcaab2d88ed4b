// Backup and restore as docs/operations.md prescribes (deploy/backup/chat-backup): WAL
// archived continuously, a base backup taken while people chat, the database destroyed,
// restored from the backup and the archive; every acknowledged message is back, with its
// content, and chat goes on with new msgIds after the old ones.
#include <pwd.h>
#include <unistd.h>

#include <map>
#include <regex>
#include <sstream>

#include "deploy/stack/process.hpp"
#include "deploy/stack/wait.hpp"
#include "tests/e2e/e2e.hpp"
#include "tests/support/diagnostics.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

const std::filesystem::path k_script = std::filesystem::path(CHAT_SOURCE_DIR) / "deploy/backup/chat-backup";

// Runs chat-backup as the data directory's owner (as root: user postgres, like the
// server itself); returns its output, failing the test when it fails.
std::string chat_backup(const std::filesystem::path& work, std::vector<std::string> args) {
    args.insert(args.begin(), k_script.string());
    chat::stack::spawn_options run;
    run.log_file = work / "chat-backup.out";
    std::filesystem::remove(run.log_file);
    run.cwd = "/";
    if (::geteuid() == 0) run.run_as = "postgres";
    const int status = chat::stack::run_command(args, run, std::chrono::minutes(2));
    const auto output = chat::stack::read_file(run.log_file);
    INFO("chat-backup " << args[1] << ": " << output);
    REQUIRE(status == 0);
    return output;
}

// msgId -> content of every message of the session in the database.
std::map<std::int64_t, std::string> stored_messages(chat::stack::postgres_node& pg, std::int64_t session) {
    const auto rows = pg.psql("SELECT msg_id, content FROM messages WHERE session_id = " + std::to_string(session) +
                                  " ORDER BY msg_id",
                              "chat");
    std::map<std::int64_t, std::string> messages;
    std::istringstream lines(rows);
    for (std::string line; std::getline(lines, line);) {
        const auto bar = line.find('|');
        if (bar == std::string::npos) continue;
        messages[std::stoll(line.substr(0, bar))] = line.substr(bar + 1);
    }
    return messages;
}

}  // namespace

TEST_CASE("a base backup taken under load plus the WAL archive restores every acknowledged message") {
    chat::stack::temp_dir dir("chat-backup");
    // The server's user must reach its directory inside ours (mkdtemp makes it 0700),
    // and write the archive and the backups.
    std::filesystem::permissions(dir.path(), std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
    const auto archive = dir.path() / "wal-archive";
    const auto backups = dir.path() / "backups";
    for (const auto& made : {archive, backups}) {
        std::filesystem::create_directory(made);
        if (::geteuid() == 0) {
            const passwd* postgres = ::getpwnam("postgres");
            REQUIRE(postgres != nullptr);
            REQUIRE(::chown(made.c_str(), postgres->pw_uid, postgres->pw_gid) == 0);
        }
    }

    chat::stack::options o;
    o.dir = dir.path();
    // WAL archiving from the first commit on, with the settings chat-backup prints
    // ("name = 'value'" lines).
    const std::regex setting(R"(^(\w+) = '?(.*?)'?$)");
    std::istringstream printed(chat_backup(dir.path(), {"archive-command", archive.string()}));
    for (std::string line; std::getline(printed, line);) {
        std::smatch m;
        if (std::regex_match(line, m, setting)) o.pg_settings.push_back(m[1].str() + "=" + m[2].str());
    }
    REQUIRE(o.pg_settings.size() == 3);
    o.sets = {"limits.messages_per_second=0", "limits.account_messages_per_second=0",
              "limits.accounts_per_minute_per_address=0", "limits.connections_per_minute_per_address=0",
              "http.allowed_origins=[]"};
    o.ready_timeout = 40s;
    chat::stack::system system(o);
    set_failure_context([&] { return system.logs(); });
    struct forget_context {
        ~forget_context() { clear_failure_context(); }
    } forget;
    auto& pg = system.postgres();

    ws_client a(system.broker_port()), b(system.broker_port());
    a.create_account("ada");
    b.create_account("bo");
    const auto session = match_expecting(a, b);

    // Chat before, during and after the base backup; remember every acknowledgement.
    std::map<std::int64_t, std::string> acknowledged;
    int round = 0;
    auto chat_round = [&](ws_client& sender) {
        const auto prefix = "r" + std::to_string(round++) + "-";
        const auto ids = send_burst(sender, session, 25, prefix);
        for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
            const bool fresh = acknowledged.emplace(ids[i], burst_content(prefix, i)).second;
            REQUIRE(fresh);  // no msgId twice
        }
    };
    for (int i = 0; i < 4; ++i) chat_round(i % 2 ? b : a);

    chat::stack::spawn_options backup_run;
    backup_run.log_file = dir.path() / "base-backup.out";
    backup_run.cwd = "/";
    if (::geteuid() == 0) backup_run.run_as = "postgres";
    chat::stack::child_process backup({k_script.string(), "base", "--url", pg.url_for("postgres"), "--to",
                                       backups.string()},
                                      backup_run);
    int during = 0;
    while (backup.running()) {
        chat_round(during % 2 ? b : a);
        ++during;
    }
    INFO("base backup: " << chat::stack::read_file(backup_run.log_file));
    REQUIRE(backup.exit_status() == 0);
    for (int i = 0; i < 4; ++i) chat_round(i % 2 ? b : a);
    const auto backed_up = chat_backup(dir.path(), {"latest", backups.string()});
    INFO(during << " rounds of 25 messages went out while the backup ran");
    REQUIRE(acknowledged.size() >= 8 * 25);
    REQUIRE(stored_messages(pg, session).size() == acknowledged.size());

    // The last WAL file goes to the archive now rather than when it fills.
    const auto last_segment = pg.psql("SELECT pg_walfile_name(pg_switch_wal())");
    REQUIRE(chat::stack::wait_until(
        [&] { return pg.psql("SELECT last_archived_wal FROM pg_stat_archiver") >= last_segment; }, 30s, 100ms));

    // The disaster: the server dies and its data directory is gone.
    pg.kill9();
    const auto data = std::filesystem::canonical(pg.data_dir());
    for (const auto& entry : std::filesystem::directory_iterator(data)) std::filesystem::remove_all(entry);
    REQUIRE(std::filesystem::is_empty(data));

    std::string latest = backed_up.substr(0, backed_up.find('\n'));
    chat_backup(dir.path(), {"restore", "--from", latest, "--data-dir", data.string(), "--archive", archive.string()});
    pg.restart(std::chrono::seconds(90));
    REQUIRE(chat::stack::wait_until([&] { return pg.psql("SELECT pg_is_in_recovery()") == "f"; }, 60s, 200ms));

    // Every acknowledged message is back, with its content: those before the backup,
    // those written while it ran, and those after it (from the archive).
    const auto restored = stored_messages(pg, session);
    std::size_t missing = 0, wrong = 0;
    for (const auto& [msg_id, content] : acknowledged) {
        const auto it = restored.find(msg_id);
        if (it == restored.end())
            ++missing;
        else if (it->second != content)
            ++wrong;
    }
    CHECK(missing == 0);
    CHECK(wrong == 0);
    CHECK(restored.size() == acknowledged.size());

    // The services find the restored database by themselves, and its sequence goes on
    // after the last msgId.
    const auto last_before = acknowledged.rbegin()->first;
    std::vector<std::int64_t> after;
    json last_reply;
    const bool answered = chat::stack::wait_until(
        [&] {
            const json request_id = "after-" + std::to_string(after.size());
            a.send({{"cmd", "DIALOGUE"}, {"requestId", request_id}, {"senderId", a.account_id()}, {"sessionId", session},
                    {"content", "after the restore"}});
            const auto reply = a.wait_response("DIALOGUE", 10s, request_id);
            last_reply = reply;
            if (code_of(reply) != 0) return false;
            after.push_back(reply.value("msgId", std::int64_t{0}));
            return true;
        },
        60s, 500ms);
    INFO("the last answer: " << last_reply.dump());
    REQUIRE(answered);
    CHECK(after.back() > last_before);
    const auto pushed = expect_push(b, push_dialogue(session, after.back()), "the push of a message after the restore");
    CHECK(pushed.value("content", "") == "after the restore");
}
