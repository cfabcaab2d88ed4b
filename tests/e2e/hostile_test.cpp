// Hostile clients against a real stack. Several connections at once send thousands of
// malformed, truncated, non-object, wrongly typed, binary, oversized, unknown,
// out-of-order and spoofed frames. Every frame must get exactly one clear error (the cmd
// docs/protocol.md says, a non-zero code, a msg; DIALOGUE errors echo a valid
// requestId), no service may crash, a legitimate pair keeps chatting, and nothing stored
// changes. Frames that break the WebSocket protocol itself must end that connection with
// a close code, and nothing else.
//
// The frames are random; the seed is printed and CHAT_HOSTILE_SEED replays it.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <random>
#include <sstream>

#include "tests/e2e/e2e.hpp"
#include "tests/support/raw_ws.hpp"
#include "tests/support/stack.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

constexpr std::size_t k_max_frame = 4096;  // limits.max_frame_bytes of the stack below
constexpr std::size_t k_frames_per_connection = 2000;
constexpr std::size_t k_batch = 64;     // frames in flight per connection
constexpr auto k_answer_timeout = 20s;  // generous: sanitizer builds are slow

/// One hostile frame and the one response it must get.
struct hostile_frame {
    std::string data;
    bool binary = false;
    std::string cmd;     // the response's cmd
    int code = 0;        // and code
    json request_id;     // the requestId it must echo (DIALOGUE), or null
    bool alone = false;  // sent only when everything before it was answered: a login
                         // while another is in flight is refused with 10 instead, and
                         // ACKs meanwhile are merged (see ack_alone)
    std::string kind;
};

/// Who sends, which decides what each frame must get.
struct role {
    std::string name;
    std::int64_t account = 0;             // 0: the connection has no account
    std::vector<std::int64_t> others;     // accounts that are not this connection's
    std::vector<std::int64_t> member_of;  // sessions it is a member of (last msgId below)
    std::int64_t last_msg_id = 0;
    std::vector<std::int64_t> foreign;  // sessions it is not a member of
};

class frame_maker {
  public:
    frame_maker(role r, std::uint64_t seed) : role_(std::move(r)), rng_(seed) {}

    hostile_frame next() {
        for (;;) {
            switch (pick(20)) {
                case 0:
                    return truncated();
                case 1:
                    return not_object();
                case 2:
                    return bad_cmd();
                case 3:
                    return unknown_cmd();
                case 4:
                case 5:
                case 6:
                    return bad_field();
                case 7:
                    return bad_escape();
                case 8:
                    return binary();
                case 9:
                    return random_text();
                case 10:
                    return oversized();
                case 11:
                    return boundary();
                default:
                    break;
            }
            // What depends on the connection's state.
            if (role_.account == 0) {
                if (pick(8) == 0) return wrong_token();
                return before_login();
            }
            switch (pick(4)) {
                case 0:
                    return second_login();
                case 1:
                    return spoofed();
                default:
                    if (!role_.member_of.empty() && pick(2) == 0) return beyond_last();
                    return not_member();
            }
        }
    }

  private:
    std::size_t pick(std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    }
    std::int64_t id() {
        return std::uniform_int_distribution<std::int64_t>(1, 1'000'000'000)(rng_);
    }
    template <class T>
    const T& one_of(const std::vector<T>& v) {
        return v.at(pick(v.size()));
    }

    std::string text(std::size_t n, const std::string& alphabet) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i) s += alphabet[pick(alphabet.size())];
        return s;
    }
    std::string request_id() { return role_.name + "-" + std::to_string(++counter_); }
    std::string token() { return text(64, "0123456789abcdef"); }

    static std::string ascii(const json& j) { return j.dump(-1, ' ', /*ensure_ascii=*/true); }

    hostile_frame error(std::string data, std::string kind, int code = 1) {
        return {std::move(data), false, "ERROR", code, nullptr, false, std::move(kind)};
    }
    hostile_frame answer(const json& frame, std::string kind, int code) {
        json rid =
            frame.value("cmd", json()) == "DIALOGUE" ? frame.value("requestId", json()) : json();
        return {ascii(frame), false,          frame["cmd"].get<std::string>(), code, rid,
                false,        std::move(kind)};
    }

    // Well-formed requests of each command, with plausible values.
    json valid(const std::string& cmd) {
        const auto me = role_.account != 0 ? role_.account : id();
        if (cmd == "CRT_ACCOUNT")
            return {{"cmd", cmd}, {"nickName", "mallory" + std::to_string(pick(100))}};
        if (cmd == "MATCH") return {{"cmd", cmd}, {"accountId", me}};
        if (cmd == "DIALOGUE")
            return {{"cmd", cmd},
                    {"requestId", request_id()},
                    {"senderId", me},
                    {"sessionId", id()},
                    {"content", "hi"}};
        if (cmd == "VIEWED_ACK")
            return {{"cmd", cmd}, {"sessionId", id()}, {"accountId", me}, {"msgId", id()}};
        if (cmd == "LOGOUT") return {{"cmd", cmd}, {"accountId", me}};
        if (cmd == "ACK") return {{"cmd", cmd}, {"sessionId", id()}, {"msgId", id()}};
        return {{"cmd", "RECONNECT"}, {"accountId", me}, {"token", token()}};
    }
    const std::vector<std::string>& commands() {
        static const std::vector<std::string> all = {
            "CRT_ACCOUNT", "MATCH", "DIALOGUE", "VIEWED_ACK", "LOGOUT", "RECONNECT", "ACK"};
        return all;
    }

    hostile_frame truncated() {
        auto whole = ascii(valid(one_of(commands())));
        return error(whole.substr(0, pick(whole.size())), "truncated JSON");
    }

    hostile_frame not_object() {
        static const std::vector<std::string> fixed = {"[]",
                                                       "[1,2,3]",
                                                       R"(["cmd","PING"])",
                                                       R"("MATCH")",
                                                       "42",
                                                       "-0.5e9",
                                                       "null",
                                                       "true",
                                                       "false",
                                                       R"([{"cmd":"PING"}])",
                                                       "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]",
                                                       "\"\"",
                                                       " ",
                                                       ""};
        if (pick(2) == 0) return error(one_of(fixed), "not an object");
        return error(std::to_string(id()) + "." + std::to_string(pick(1000)), "not an object");
    }

    hostile_frame bad_cmd() {
        const std::vector<json> cmds = {
            5, nullptr, true, json::array({"MATCH"}), json::object({{"cmd", "PING"}}), 1.5};
        json frame = valid(one_of(commands()));
        if (pick(4) == 0)
            frame.erase("cmd");
        else
            frame["cmd"] = one_of(cmds);
        return error(ascii(frame), "cmd missing or not a string");
    }

    hostile_frame unknown_cmd() {
        json frame = valid(one_of(commands()));
        std::string cmd;
        switch (pick(4)) {
            case 0:
                cmd = "X_" + text(1 + pick(20), "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");
                break;
            case 1:
                cmd = one_of(std::vector<std::string>{"match", "Dialogue", "PUSH_DIALOGUE",
                                                      "PUSH_SIGNAL", "ERROR", "", " PING", "PING ",
                                                      "crt_account"});
                break;
            case 2:
                cmd =
                    "\xc3\x9c"
                    "BER_" +
                    std::to_string(pick(1000));
                break;  // valid UTF-8
            default:
                cmd = "X_" + text(70 + pick(100), "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
                break;  // too long to echo
        }
        frame["cmd"] = cmd;
        hostile_frame f = error(ascii(frame), "unknown cmd", 7);
        f.cmd = cmd.size() <= 64 ? cmd : "ERROR";
        return f;
    }

    // A well-formed request with one field missing, wrongly typed, out of range or too long.
    hostile_frame bad_field() {
        const auto cmd = one_of(commands());
        json frame = valid(cmd);
        std::vector<std::string> fields;
        for (auto& [key, value] : frame.items())
            if (key != "cmd") fields.push_back(key);
        const auto field = one_of(fields);
        const bool is_id =
            field == "accountId" || field == "senderId" || field == "sessionId" || field == "msgId";
        std::vector<json> bad = {nullptr, true, json::array(), json::object(), 1.5};
        if (is_id) {
            bad.insert(bad.end(), {0, -1, -id(), std::to_string(id()), 9223372036854775807.0 * 2,
                                   json::parse("9223372036854775808"), json::parse("1e3")});
        } else if (field == "requestId") {
            bad.insert(bad.end(), {"", std::string(65, 'r'), "has space", "tab\there",
                                   "caf\xc3\xa9", -1, -id()});
        } else if (field == "content") {
            bad.insert(bad.end(), {"", "   \n\t ", std::string("a\0b", 3), 5});
        } else if (field == "nickName") {
            bad.insert(bad.end(), {"", "   ", std::string(33, 'n'),
                                   "a\x01"
                                   "b",
                                   "line\nbreak", "\xc2\x85x", 7});
        } else if (field == "token") {
            bad.insert(bad.end(),
                       {"", token().substr(1), token() + "0", "XYZ", std::string(64, 'G'), 12345});
        }
        if (pick(5) == 0)
            frame.erase(field);
        else
            frame[field] = one_of(bad);
        auto f = answer(frame, "missing or bad field", 1);
        if (field == "requestId") f.request_id = nullptr;  // only a valid one is echoed
        return f;
    }

    // JSON string escapes that decode to no valid UTF-8 (lone surrogates).
    hostile_frame bad_escape() {
        const auto cmd = pick(2) == 0 ? "DIALOGUE" : "CRT_ACCOUNT";
        json frame = valid(cmd);
        const auto field = frame.contains("content") ? "content" : "nickName";
        frame[field] = "@@";
        auto data = ascii(frame);
        data.replace(
            data.find("@@"), 2,
            one_of(std::vector<std::string>{"\\ud800", "a\\udc00b", "\\ud83d", "\\ud800\\ud800"}));
        return error(std::move(data), "lone surrogate escape");
    }

    hostile_frame binary() {
        hostile_frame f;
        switch (pick(3)) {
            case 0:
                f = error(ascii(valid(one_of(commands()))), "binary frame");
                break;  // even a valid command
            case 1:
                f = error(
                    std::string("\xff\xfe\x00\x01", 4) + text(pick(200), "\x80\xc3\xff{}\"\\"),
                    "binary frame");
                break;
            default: {
                std::string bytes;
                for (std::size_t i = 0, n = 1 + pick(1500); i < n; ++i)
                    bytes += static_cast<char>(pick(256));
                f = error(std::move(bytes), "binary frame");
            }
        }
        f.binary = true;
        return f;
    }

    // Printable text or valid UTF-8 that never starts a JSON object.
    hostile_frame random_text() {
        if (pick(2) == 0)
            return error(
                text(1 + pick(400), " !#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz|~\"}"),
                "random text");
        return error(text(1 + pick(100), "abc") + "\xc3\xa9\xe6\x9d\x8e\xf0\x9f\x98\x80" +
                         text(pick(50), "xyz]"),
                     "random text");
    }

    // Above max_frame_bytes: discarded unread, whatever it holds, text or binary.
    hostile_frame oversized() {
        const auto size = k_max_frame + 1 + pick(3 * k_max_frame);
        hostile_frame f;
        if (pick(3) == 0) {
            f = error(std::string(size, static_cast<char>(pick(256))), "oversized frame", 11);
            f.binary = true;
        } else {
            json frame = valid(one_of(commands()));
            frame["padding"] = "";
            auto data = ascii(frame);
            data.insert(data.size() - 2, std::string(size - data.size(), 'p'));
            f = error(std::move(data), "oversized frame", 11);
        }
        return f;
    }

    // Exactly at the limit a frame is read (and here refused as malformed); one byte more is not.
    hostile_frame boundary() {
        const auto size = pick(2) == 0 ? k_max_frame : k_max_frame + 1;
        auto data = "[" + std::string(size - 2, '1') + "]";
        return error(std::move(data), "frame at the size limit", size > k_max_frame ? 11 : 1);
    }

    hostile_frame before_login() {
        static const std::vector<std::string> need_account = {"MATCH", "DIALOGUE", "VIEWED_ACK",
                                                              "LOGOUT", "ACK"};
        return answer(valid(one_of(need_account)), "before login", 6);
    }

    hostile_frame wrong_token() {
        // Someone's account, an unknown one, or a real account with another's token.
        json frame = {{"cmd", "RECONNECT"},
                      {"accountId", pick(2) == 0 ? one_of(role_.others) : id()},
                      {"token", token()}};
        auto f = answer(frame, "RECONNECT with a wrong token", 9);
        f.alone = true;
        return f;
    }

    hostile_frame second_login() {
        auto f = answer(valid(pick(2) == 0 ? "CRT_ACCOUNT" : "RECONNECT"), "second login", 10);
        return f;
    }

    // Commands naming an account that is not the connection's.
    hostile_frame spoofed() {
        const auto other = pick(3) == 0 ? id() : one_of(role_.others);
        json frame =
            valid(one_of(std::vector<std::string>{"MATCH", "DIALOGUE", "VIEWED_ACK", "LOGOUT"}));
        for (auto field : {"accountId", "senderId"})
            if (frame.contains(field)) frame[field] = other;
        if (frame.contains("sessionId") && !role_.member_of.empty() && pick(2) == 0)
            frame["sessionId"] = one_of(role_.member_of);
        return answer(frame, "spoofed account", 5);
    }

    // DIALOGUE, VIEWED_ACK or ACK as itself into a session it is not in (or that does
    // not exist).
    hostile_frame not_member() {
        json frame = valid(one_of(std::vector<std::string>{"DIALOGUE", "VIEWED_ACK", "ACK"}));
        frame["sessionId"] =
            !role_.foreign.empty() && pick(2) == 0 ? one_of(role_.foreign) : 1'000'000 + id();
        return ack_alone(answer(frame, "not a member", 8));
    }

    hostile_frame beyond_last() {
        json frame = valid(pick(2) == 0 ? "VIEWED_ACK" : "ACK");
        frame["sessionId"] = one_of(role_.member_of);
        frame["msgId"] = role_.last_msg_id + 1 + static_cast<std::int64_t>(pick(1000));
        return ack_alone(answer(frame, "beyond the last msgId", 4));
    }

    // The broker merges the ACKs a connection sends while one is with logic into one per
    // session (the highest), so only an ACK sent on its own has an answer of its own.
    static hostile_frame ack_alone(hostile_frame f) {
        if (f.cmd == "ACK") f.alone = true;
        return f;
    }

    role role_;
    std::mt19937_64 rng_;
    std::size_t counter_ = 0;
};

/// What one hostile connection saw.
struct tally {
    std::size_t sent = 0;
    std::size_t answered = 0;
    std::map<std::string, std::size_t> by_kind;
    std::vector<std::string> problems;  // the first few; `failures` counts them all
    std::size_t failures = 0;

    void problem(std::string what) {
        ++failures;
        if (problems.size() < 15) problems.push_back(std::move(what));
    }
};

std::string shorten(const std::string& s, std::size_t max = 160) {
    return s.size() <= max ? s : s.substr(0, max) + "...(" + std::to_string(s.size()) + " bytes)";
}

// Waits for one response per frame of the batch, in any order, each matched to exactly
// one frame by cmd, code and requestId.
void collect(ws_client& client, std::vector<const hostile_frame*> pending, tally& t) {
    while (!pending.empty()) {
        auto frame = client.next_frame(k_answer_timeout);
        if (!frame) {
            std::string kinds;
            for (auto* f : pending) kinds += "\n  " + f->kind + ": " + shorten(f->data, 100);
            t.problem("no answer within " + std::to_string(k_answer_timeout.count()) + " s to " +
                      std::to_string(pending.size()) + " frame(s):" + kinds + "\n" +
                      client.describe());
            return;
        }
        const auto cmd = frame->value("cmd", json());
        const auto msg = frame->value("msg", json());
        if (!cmd.is_string() || code_of(*frame) <= 0 || !msg.is_string() ||
            msg.get<std::string>().empty()) {
            t.problem("not a clear error: " + shorten(frame->dump()));
            continue;
        }
        const auto rid = frame->value("requestId", json());
        auto match = std::find_if(pending.begin(), pending.end(), [&](const hostile_frame* f) {
            return f->cmd == cmd && f->code == code_of(*frame) && f->request_id == rid;
        });
        if (match == pending.end()) {
            std::string expected;
            for (auto* f : pending)
                expected += "\n  " + f->kind + " -> " + f->cmd + " " + std::to_string(f->code) +
                            (f->request_id.is_null() ? "" : " " + f->request_id.dump()) + ": " +
                            shorten(f->data, 100);
            t.problem("unexpected answer " + shorten(frame->dump()) + "; waiting for:" + expected);
            continue;
        }
        ++t.answered;
        pending.erase(match);
    }
}

tally attack(ws_client& client, role r, std::uint64_t seed) {
    frame_maker maker(std::move(r), seed);
    tally t;
    std::vector<hostile_frame> frames;
    for (std::size_t i = 0; i < k_frames_per_connection; ++i) frames.push_back(maker.next());
    for (std::size_t i = 0; i < frames.size() && t.failures == 0;) {
        std::vector<const hostile_frame*> batch;
        if (frames[i].alone) {
            batch.push_back(&frames[i++]);
        } else {
            while (i < frames.size() && !frames[i].alone && batch.size() < k_batch)
                batch.push_back(&frames[i++]);
        }
        for (auto* f : batch) {
            if (f->binary)
                client.send_binary(f->data);
            else
                client.send_text(f->data);
            ++t.sent;
            ++t.by_kind[f->kind];
        }
        collect(client, std::move(batch), t);
    }
    // Exactly one answer each: nothing more may follow.
    if (auto extra = client.next_frame(1s))
        t.problem("an answer too many: " + shorten(extra->dump()));
    return t;
}

// Every row of every table (brokers aside: heartbeats update it each second), as a count
// and an md5 over the sorted rows, plus where each sequence stands.
std::map<std::string, std::string> snapshot(service_stack& stack) {
    std::string sql;
    std::istringstream tables(
        stack.db().query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND "
                         "tablename <> 'brokers' ORDER BY 1"));
    for (std::string table; std::getline(tables, table);) {
        if (table.empty()) continue;
        if (!sql.empty()) sql += " UNION ALL ";
        sql += "SELECT 'table " + table +
               "', count(*)::text || ' rows ' || md5(coalesce(string_agg(r::text, E'\\n' ORDER BY "
               "r::text), '')) FROM \"" +
               table + "\" r";
    }
    sql +=
        " UNION ALL SELECT 'sequence ' || sequencename, coalesce(last_value, 0)::text FROM "
        "pg_sequences WHERE schemaname = 'public'";
    std::map<std::string, std::string> result;
    std::istringstream rows(stack.db().query(sql));
    for (std::string row; std::getline(rows, row);) {
        if (auto bar = row.find('|'); bar != std::string::npos)
            result[row.substr(0, bar)] = row.substr(bar + 1);
    }
    return result;
}

std::string describe(const std::map<std::string, std::string>& s) {
    std::string text;
    for (auto& [name, value] : s) text += "  " + name + ": " + value + "\n";
    return text;
}

std::uint64_t seed() {
    if (const char* s = std::getenv("CHAT_HOSTILE_SEED"); s && *s)
        return std::strtoull(s, nullptr, 10);
    return std::random_device{}();
}

}  // namespace

TEST_CASE("hostile clients get one clear error per frame, break nothing and change nothing",
          "[e2e][hostile]") {
    const auto started = std::chrono::steady_clock::now();
    const auto base_seed = seed();
    std::printf("hostile: seed %llu (CHAT_HOSTILE_SEED=%llu replays it)\n",
                static_cast<unsigned long long>(base_seed),
                static_cast<unsigned long long>(base_seed));
    INFO("CHAT_HOSTILE_SEED=" << base_seed);

    stack_options options;
    options.max_frame_bytes = k_max_frame;
    options.broker_threads = 2;
    service_stack stack(options);

    // The victims: a pair with a session and two messages, everything delivered and read.
    auto p = make_pair(stack);
    REQUIRE(p.a->say(p.session, "before 1", "a-before").value("msgId", json()) == 1);
    expect_push(*p.b, push_dialogue(p.session, 1), "alice's message");
    REQUIRE(p.b->say(p.session, "before 2", "b-before").value("msgId", json()) == 2);
    expect_push(*p.a, push_dialogue(p.session, 2), "bob's message");
    REQUIRE(code_of(p.b->request({{"cmd", "VIEWED_ACK"},
                                  {"sessionId", p.session},
                                  {"accountId", p.bob.id},
                                  {"msgId", 1}})) == 0);
    expect_push(*p.a, viewed_push(p.session), "bob's read receipt");

    // The attackers: mallory has an account (and no session), two connections have none.
    // Nobody MATCHes from here on, so mallory stays without a session.
    auto m = stack.connect();
    auto mallory = m->create_account("mallory");
    auto u1 = stack.connect();
    auto u2 = stack.connect();
    // Nothing may be waiting for delivery when the snapshot is taken.
    REQUIRE(wait_until([&] { return stack.db().query("SELECT count(*) FROM inbox") == "0"; }, 10s));
    const auto before = snapshot(stack);
    REQUIRE(before.count("table messages") == 1);

    const std::vector<std::int64_t> everyone = {p.alice.id, p.bob.id, mallory.id};
    const role as_mallory{"mallory", mallory.id, {p.alice.id, p.bob.id}, {}, 0, {p.session}};
    const role as_alice{"alice", p.alice.id, {p.bob.id, mallory.id}, {p.session}, 2, {}};
    const role unbound1{"nobody1", 0, everyone, {}, 0, {p.session}};
    const role unbound2{"nobody2", 0, everyone, {}, 0, {p.session}};

    // Four connections attack at once, each from its own thread (no Catch2 macros there).
    auto a1 = std::async(std::launch::async, attack, std::ref(*m), as_mallory, base_seed + 1);
    auto a2 = std::async(std::launch::async, attack, std::ref(*p.a), as_alice, base_seed + 2);
    auto a3 = std::async(std::launch::async, attack, std::ref(*u1), unbound1, base_seed + 3);
    auto a4 = std::async(std::launch::async, attack, std::ref(*u2), unbound2, base_seed + 4);

    // Meanwhile, on connections of their own: what the WebSocket layer refuses.
    std::size_t protocol_frames = 0;
    // Text frames that are not UTF-8: the WebSocket layer fails the connection with 1007
    // (RFC 6455, docs/protocol.md) before any JSON is parsed.
    const std::vector<std::string> not_utf8 = {"\xff",
                                               "{\"cmd\":\"PING\",\"x\":\"\xc3\x28\"}",
                                               "\xc0\xaf",
                                               "\xed\xa0\x80",
                                               "\xf0\x9f\x98",
                                               "\xf4\x90\x80\x80",
                                               "{\"cmd\":\"CRT_ACCOUNT\",\"nickName\":\"\xfe\"}"};
    for (const auto& bad : not_utf8) {
        auto c = stack.connect();
        c->send_text(bad);
        ++protocol_frames;
        const bool closed = c->wait_closed(10s);
        INFO("invalid UTF-8 text frame: " << c->describe());
        REQUIRE(closed);
        CHECK(c->close_code() == 1007);
        CHECK(c->buffered().empty());
    }
    // Frames that break the protocol: each ends its connection with 1002 (protocol error).
    const std::vector<std::pair<std::string, std::string>> broken = {
        {"unmasked client frame", ws_frame(0x81, R"({"cmd":"PING"})", false)},
        {"reserved bits set", ws_frame(0xf1, R"({"cmd":"PING"})")},
        {"reserved opcode", ws_frame(0x83, "x")},
        {"continuation without a start", ws_frame(0x80, R"({"cmd":"PING"})")},
        {"new message inside a fragmented one", ws_frame(0x01, "{\"cmd\":") + ws_frame(0x81, "{}")},
        {"fragmented control frame", ws_frame(0x09, "x")},
        {"control frame over 125 bytes", ws_frame(0x89, std::string(126, 'p'))},
        {"close frame with a 1-byte payload", ws_frame(0x88, "x")},
    };
    for (auto& [what, bytes] : broken) {
        INFO(what);
        raw_connection c(stack.broker_port());
        REQUIRE(c.upgrade());
        c.send(bytes);
        ++protocol_frames;
        auto received = c.read_until_closed();
        CHECK(c.closed());
        CHECK(close_code_in(received) == 1002);
    }
    // Truncated frames (the header promises more than ever comes), then the client
    // vanishes; and bytes that are not HTTP at all. Nothing to answer; nothing may break.
    for (std::size_t cut : {1, 2, 5, 20}) {
        raw_connection c(stack.broker_port());
        REQUIRE(c.upgrade());
        c.send(ws_frame(0x81, R"({"cmd":"MATCH","accountId":1})").substr(0, cut));
        ++protocol_frames;
    }
    const std::vector<std::string> not_http = {
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), "GET /ws HTTP/9.9\r\n\r\n",
        std::string(2000, '\0')};
    for (const auto& garbage : not_http) {
        raw_connection c(stack.broker_port());
        c.send(garbage);
        ++protocol_frames;
        auto received = c.read_until_closed();
        INFO("answer to garbage: " << received.substr(0, 80));
        CHECK((received.empty() || received.rfind("HTTP/1.1 400", 0) == 0));
    }
    // Past the 16 MiB hard cap: 1009.
    CHECK(send_oversized_frame(stack.broker_port(), 17 * 1024 * 1024) == 1009);
    ++protocol_frames;

    std::size_t total = 0;
    std::map<std::string, std::size_t> all_kinds;
    for (auto* attack_result : {&a1, &a2, &a3, &a4}) {
        auto t = attack_result->get();
        for (auto& [kind, count] : t.by_kind) all_kinds[kind] += count;
        std::string kinds;
        for (auto& [kind, count] : t.by_kind) kinds += "\n  " + kind + ": " + std::to_string(count);
        std::string problems;
        for (auto& problem : t.problems) problems += "\n- " + problem;
        INFO(t.sent << " frames sent, " << t.answered
                    << " answered as expected; by kind:" << kinds);
        INFO(t.failures << " problem(s):" << problems);
        CHECK(t.failures == 0);
        CHECK(t.answered == t.sent);
        CHECK(t.sent == k_frames_per_connection);
        total += t.sent;
    }

    // Everything still runs, the attackers' connections included, and nothing reached bob.
    check_services_alive(stack);
    CHECK(stack.broker_healthy(0));
    for (auto* c : {m.get(), p.a.get(), u1.get(), u2.get()}) check_connection_works(*c);
    expect_no_push(*p.b, any_push(), "a push caused by a hostile frame");
    expect_no_push(*m, any_push(), "a push to the attacker", 100ms);

    // Not one stored row changed.
    const auto after = snapshot(stack);
    INFO("before:\n" << describe(before) << "after:\n" << describe(after));
    CHECK(after == before);

    // And the victims chat on as if nothing happened.
    auto next = p.a->say(p.session, "after the storm", "a-after");
    CHECK(code_of(next) == 0);
    CHECK(next.value("msgId", json()) == 3);
    CHECK(expect_push(*p.b, push_dialogue(p.session, 3), "alice's message")
              .value("content", json()) == "after the storm");
    CHECK(p.b->say(p.session, "all fine", "b-after").value("msgId", json()) == 4);
    expect_push(*p.a, push_dialogue(p.session, 4), "bob's reply");
    CHECK(stack.connect()->create_account("latecomer").id > 0);
    check_services_alive(stack);

    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    std::printf("hostile: %zu frames on 4 connections and %zu protocol-level attacks, %.1f s\n",
                total, protocol_frames, took.count() / 1000.0);
    for (auto& [kind, count] : all_kinds) std::printf("  %5zu %s\n", count, kind.c_str());
}
