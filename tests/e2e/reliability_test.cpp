// Acknowledged delivery, the grace period, resume, and the limits that keep slow and
// hostile clients from hurting anyone else.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <thread>

#include "tests/e2e/e2e.hpp"
#include "tests/support/stack.hpp"

using namespace chat::test;
using namespace chat::test::e2e;
using json = nlohmann::json;

namespace {

stack_options with_grace(const std::string& grace, int brokers = 1) {
    stack_options o;
    o.brokers = brokers;
    o.grace = grace;
    o.presence_sweep = "200ms";
    return o;
}

std::int64_t acked_position(service_stack& stack, std::int64_t session, std::int64_t account) {
    auto out = stack.db().query("SELECT acked_up_to FROM session_members WHERE session_id = " + std::to_string(session) +
                                " AND account_id = " + std::to_string(account));
    return std::stoll(out);
}

/// A bare TCP WebSocket client for what ws_client cannot do: send a chosen Origin, or
/// stop reading altogether.
class raw_socket {
public:
    explicit raw_socket(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        // A small receive buffer (set before connecting) makes "stops reading" bite sooner.
        int small = 4096;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~raw_socket() { ::close(fd_); }

    /// Sends the upgrade request and returns the HTTP status code of the answer.
    int upgrade(std::uint16_t port, const std::string& origin) {
        std::string req = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
        if (!origin.empty()) req += "Origin: " + origin + "\r\n";
        req += "\r\n";
        write_all(req);
        std::string head;
        char c;
        while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd_, &c, 1, 0) == 1) head += c;
        return head.size() > 12 ? std::stoi(head.substr(9, 3)) : 0;
    }
    /// One masked text frame.
    void send_text(const std::string& text) {
        std::string frame;
        frame += static_cast<char>(0x81);
        if (text.size() < 126) {
            frame += static_cast<char>(0x80 | text.size());
        } else {
            frame += static_cast<char>(0x80 | 126);
            frame += static_cast<char>(text.size() >> 8);
            frame += static_cast<char>(text.size() & 0xFF);
        }
        frame += std::string(4, '\0');  // mask key 0: the payload goes as is
        frame += text;
        write_all(frame);
    }
    /// Reads one unfragmented text frame from the server.
    json read_json() {
        unsigned char head[2];
        read_exact(head, 2);
        std::size_t len = head[1] & 0x7F;
        if (len == 126) {
            unsigned char ext[2];
            read_exact(ext, 2);
            len = (ext[0] << 8) | ext[1];
        }
        std::string payload(len, '\0');
        read_exact(payload.data(), len);
        return json::parse(payload);
    }

private:
    void write_all(const std::string& data) {
        std::size_t sent = 0;
        while (sent < data.size()) {
            const auto n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            REQUIRE(n > 0);
            sent += static_cast<std::size_t>(n);
        }
    }
    void read_exact(void* out, std::size_t n) {
        auto* p = static_cast<char*>(out);
        for (std::size_t got = 0; got < n;) {
            const auto r = ::recv(fd_, p + got, n - got, 0);
            REQUIRE(r > 0);
            got += static_cast<std::size_t>(r);
        }
    }
    int fd_;
};

}  // namespace

TEST_CASE("a dropped connection keeps its sessions and RECONNECT elsewhere resumes what was not acknowledged",
          "[e2e][reliability]") {
    service_stack stack(with_grace("20s", 2));
    auto p = make_pair(stack, 0, 1);
    auto ids = send_burst(*p.a, p.session, 3, "m");
    auto got = collect_dialogue(*p.b, p.session, 3);
    REQUIRE(got.size() == 3);
    p.b->send({{"cmd", "ACK"}, {"sessionId", p.session}, {"msgId", ids[1]}});
    REQUIRE(wait_until([&] { return acked_position(stack, p.session, p.bob.id) == ids[1]; }, 5s));

    p.b->abort();
    expect_push(*p.a, signal("PartnerAway", p.session), "PartnerAway for alice");
    auto later = send_burst(*p.a, p.session, 2, "later");  // the session is still open
    CHECK(later == std::vector<std::int64_t>{4, 5});

    auto b2 = stack.connect(0);  // back on the other broker
    auto r = b2->reconnect(p.bob.id, p.bob.token);
    REQUIRE(code_of(r) == 0);
    REQUIRE(r["sessions"].size() == 1);
    CHECK(r["sessions"][0]["sessionId"] == p.session);
    auto resumed = collect_dialogue(*b2, p.session, 3);
    std::vector<std::int64_t> resumed_ids;
    for (auto& m : resumed) resumed_ids.push_back(m["msgId"].get<std::int64_t>());
    CHECK(resumed_ids == std::vector<std::int64_t>{3, 4, 5});  // from the first unacknowledged, in order
    CHECK(resumed[0]["content"] == burst_content("m", 2));
    expect_push(*p.a, signal("PartnerBack", p.session), "PartnerBack for alice");
    expect_no_push(*p.a, signal("PartnerExit", p.session), "no PartnerExit inside the grace", 1s);
    expect_no_push(*b2, push_dialogue(p.session), "nothing delivered twice after the resume", 500ms);

    // The conversation simply goes on.
    auto more = send_burst(*b2, p.session, 1, "back");
    CHECK(more == std::vector<std::int64_t>{6});
    expect_push(*p.a, push_dialogue(p.session, 6), "bob's message after his return");
}

TEST_CASE("when the grace runs out the partner gets PartnerExit", "[e2e][reliability]") {
    service_stack stack(with_grace("1s"));
    auto p = make_pair(stack);
    p.b->abort();
    expect_push(*p.a, signal("PartnerAway", p.session), "PartnerAway");
    expect_push(*p.a, signal("PartnerExit", p.session), "PartnerExit once the grace ran out", 10s);
    auto r = p.a->request({{"cmd", "DIALOGUE"}, {"requestId", "x1"}, {"senderId", p.alice.id},
                           {"sessionId", p.session}, {"content", "still there?"}});
    check_error(r, "DIALOGUE", 8);
}

TEST_CASE("a partner who left while I was away is announced when I resume", "[e2e][reliability]") {
    service_stack stack(with_grace("20s"));
    auto p = make_pair(stack);
    p.b->abort();
    expect_push(*p.a, signal("PartnerAway", p.session), "PartnerAway");
    REQUIRE(code_of(p.a->request({{"cmd", "LOGOUT"}, {"accountId", p.alice.id}})) == 0);

    auto b2 = stack.connect(0);
    auto r = b2->reconnect(p.bob.id, p.bob.token);
    REQUIRE(code_of(r) == 0);
    CHECK(r["sessions"].empty());
    expect_push(*b2, signal("PartnerExit", p.session), "PartnerExit for the session that ended meanwhile");
}

TEST_CASE("ACK moves the delivery position, refused ACKs are answered, valid ones are not", "[e2e][reliability]") {
    service_stack stack(with_grace("20s"));
    auto anonymous = stack.connect(0);
    auto early = anonymous->request({{"cmd", "ACK"}, {"sessionId", 1}, {"msgId", 1}});
    check_error(early, "ACK", 6);

    auto p = make_pair(stack);
    send_burst(*p.a, p.session, 2, "m");
    collect_dialogue(*p.b, p.session, 2);
    check_error(p.b->request({{"cmd", "ACK"}, {"sessionId", p.session}, {"msgId", 9}}), "ACK", 4);
    auto outsider = stack.connect(0);
    outsider->create_account("mallory");
    check_error(outsider->request({{"cmd", "ACK"}, {"sessionId", p.session}, {"msgId", 1}}), "ACK", 8);
    check_error(p.b->request({{"cmd", "ACK"}, {"sessionId", "x"}, {"msgId", 1}}), "ACK", 1);

    p.b->send({{"cmd", "ACK"}, {"sessionId", p.session}, {"msgId", 2}});
    REQUIRE(wait_until([&] { return acked_position(stack, p.session, p.bob.id) == 2; }, 5s));
    p.b->send({{"cmd", "ACK"}, {"sessionId", p.session}, {"msgId", 1}});  // behind: changes nothing
    expect_no_push(*p.b, [](const json& f) { return f.value("cmd", "") == "ACK"; }, "an answer to a valid ACK", 500ms);
    CHECK(acked_position(stack, p.session, p.bob.id) == 2);
}

TEST_CASE("over a rate limit the client is told to slow down with code 12", "[e2e][reliability]") {
    stack_options o;
    o.sets = {"limits.messages_per_second=5", "limits.accounts_per_minute_per_address=4"};
    service_stack stack(o);
    auto c = stack.connect(0);
    const auto me = c->create_account("fast");
    int slowed = 0, answered = 0;
    for (int i = 0; i < 30; ++i) c->send({{"cmd", "DIALOGUE"}, {"requestId", "r" + std::to_string(i)},
                                          {"senderId", me.id}, {"sessionId", 1}, {"content", "hi"}});
    for (int i = 0; i < 30; ++i) {
        auto r = c->wait_response("DIALOGUE", 10s);
        REQUIRE(r.contains("requestId"));  // refusals echo the requestId, so a client can retry it
        if (code_of(r) == 12) ++slowed;
        else ++answered;
    }
    CHECK(slowed > 0);
    CHECK(answered >= 9);  // the burst (twice the rate) went through
    CHECK(std::stoll(stack.db().query("SELECT count(*) FROM messages")) == 0);  // no such session: nothing stored

    // Account creation per address: the 5th within a minute (this connection made one).
    std::vector<std::unique_ptr<ws_client>> more;
    for (int i = 0; i < 3; ++i) {
        more.push_back(stack.connect(0));
        CHECK(code_of(more.back()->request({{"cmd", "CRT_ACCOUNT"}, {"nickName", "n" + std::to_string(i)}})) == 0);
    }
    auto one_too_many = stack.connect(0);
    check_error(one_too_many->request({{"cmd", "CRT_ACCOUNT"}, {"nickName", "late"}}), "CRT_ACCOUNT", 12);
    check_connection_works(*one_too_many);
}

TEST_CASE("the WebSocket upgrade checks Origin against the allow-list", "[e2e][reliability]") {
    stack_options o;
    o.sets = {"http.allowed_origins=[http://good.example]"};
    service_stack stack(o);
    const auto port = stack.broker_port(0);
    CHECK(raw_socket(port).upgrade(port, "http://evil.example") == 403);
    CHECK(raw_socket(port).upgrade(port, "http://good.example") == 101);
    CHECK(raw_socket(port).upgrade(port, "http://127.0.0.1:" + std::to_string(port)) == 101);  // its own page
    CHECK(raw_socket(port).upgrade(port, "") == 101);  // not a browser
}

TEST_CASE("a client that stops reading is dropped, and its messages wait for its resume", "[e2e][reliability]") {
    stack_options o = with_grace("30s");
    o.sets = {"limits.max_queued_frames=16"};
    service_stack stack(o);
    const auto port = stack.broker_port(0);
    raw_socket slow(port);
    REQUIRE(slow.upgrade(port, "") == 101);
    slow.send_text(R"({"cmd":"CRT_ACCOUNT","nickName":"slow"})");
    const auto created = slow.read_json();
    REQUIRE(created["code"] == 0);
    // From here on `slow` never reads again.
    auto fast = stack.connect(0);
    const auto me = fast->create_account("fast");
    auto m = fast->request({{"cmd", "MATCH"}, {"accountId", me.id}});
    REQUIRE(code_of(m) == 0);
    const auto session = m["sessionId"].get<std::int64_t>();
    const std::string big(4000, 'x');
    // 6 MB: more than the kernel's socket buffers can hide.
    constexpr int k_messages = 1504;
    // The sender reads its replies as it goes (windows of 8): it is not the slow one.
    for (int i = 0; i < k_messages; i += 8) {
        for (int k = i; k < i + 8; ++k)
            fast->send({{"cmd", "DIALOGUE"}, {"requestId", "b" + std::to_string(k)}, {"senderId", me.id},
                        {"sessionId", session}, {"content", big}});
        for (int k = i; k < i + 8; ++k) REQUIRE(code_of(fast->wait_response("DIALOGUE", 20s)) == 0);
    }
    // The broker gives up on the reader, instead of queueing without bound.
    expect_push(*fast, signal("PartnerAway", session), "PartnerAway once the slow reader is dropped", 20s);
    check_services_alive(stack);

    auto back = stack.connect(0);
    auto r = back->reconnect(created["accountId"].get<std::int64_t>(), created["token"].get<std::string>());
    REQUIRE(code_of(r) == 0);
    auto all = collect_dialogue(*back, session, k_messages, 60s);
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i]["msgId"] == static_cast<std::int64_t>(i) + 1);
}

TEST_CASE("SIGTERM on a broker closes its sockets with 1012 and the account resumes on another",
          "[e2e][reliability]") {
    service_stack stack(with_grace("20s", 2));
    auto p = make_pair(stack, 0, 1);
    stack.broker(1).signal(SIGTERM);
    REQUIRE(p.b->wait_closed(10s));
    CHECK(p.b->close_code() == 1012);
    expect_push(*p.a, signal("PartnerAway", p.session), "PartnerAway, not PartnerExit");
    auto b2 = stack.connect(0);
    REQUIRE(code_of(b2->reconnect(p.bob.id, p.bob.token)) == 0);
    expect_push(*p.a, signal("PartnerBack", p.session), "PartnerBack");
    send_burst(*p.a, p.session, 1, "hi");
    expect_push(*b2, push_dialogue(p.session, 1), "a message after the move");
}

TEST_CASE("an expired token is refused", "[e2e][reliability]") {
    stack_options o;
    o.token_ttl = "1s";
    service_stack stack(o);
    auto c = stack.connect(0);
    const auto me = c->create_account("brief");
    c->close();
    std::this_thread::sleep_for(1500ms);
    auto again = stack.connect(0);
    check_error(again->reconnect(me.id, me.token), "RECONNECT", 9);
}

TEST_CASE("a logic process killed mid-burst: every DIALOGUE still stored once, in send order",
          "[e2e][reliability]") {
    stack_options o = with_grace("20s");
    o.logics = 2;
    o.logic_workers = 2;
    o.request_timeout = "1s";  // requests the dead process took are retried sooner
    service_stack stack(o);
    auto p = make_pair(stack);
    constexpr int k_count = 300;
    send_dialogues(*p.a, p.session, 100, "k");
    stack.logic(0).kill9();
    for (int i = 100; i < k_count; ++i)
        p.a->send({{"cmd", "DIALOGUE"}, {"requestId", "k" + std::to_string(i)}, {"senderId", p.alice.id},
                   {"sessionId", p.session}, {"content", burst_content("k", i)}});
    auto ids = collect_responses(*p.a, k_count, "k");  // every one code 0
    std::vector<std::int64_t> expected(k_count);
    for (int i = 0; i < k_count; ++i) expected[i] = i + 1;
    CHECK(ids == expected);  // msgIds follow send order despite the retries
    auto got = collect_dialogue(*p.b, p.session, k_count, 60s);
    for (int i = 0; i < k_count; ++i) {
        CHECK(got[i]["msgId"] == i + 1);
        CHECK(got[i]["content"] == burst_content("k", i));
    }
    expect_no_push(*p.b, push_dialogue(p.session), "a message delivered twice", 1s);
}

TEST_CASE("a partner still away when I resume is announced as away", "[e2e][reliability]") {
    service_stack stack(with_grace("20s"));
    auto p = make_pair(stack);
    p.b->abort();
    expect_push(*p.a, signal("PartnerAway", p.session), "PartnerAway");
    p.a->abort();
    auto a2 = stack.connect(0);
    auto r = a2->reconnect(p.alice.id, p.alice.token);
    REQUIRE(code_of(r) == 0);
    REQUIRE(r["sessions"].size() == 1);
    expect_push(*a2, signal("PartnerAway", p.session), "PartnerAway in alice's resume: bob is still away");
}

TEST_CASE("a broker wrongly judged dead (frozen past the timeout) brings its accounts back when it thaws",
          "[e2e][reliability]") {
    stack_options o = with_grace("30s", 2);
    o.broker_timeout = "2s";
    service_stack stack(o);
    auto p = make_pair(stack, 0, 1);
    stack.broker(1).signal(SIGSTOP);  // its sockets stay open, its heartbeats stop
    expect_push(*p.a, signal("PartnerAway", p.session), "PartnerAway once b2 was judged dead", 15s);
    stack.broker(1).signal(SIGCONT);
    expect_push(*p.a, signal("PartnerBack", p.session), "PartnerBack once b2 resumed its connections", 15s);
    send_burst(*p.b, p.session, 1, "still-here");
    expect_push(*p.a, push_dialogue(p.session, 1), "bob's message after the thaw");
    send_burst(*p.a, p.session, 1, "welcome-back");
    expect_push(*p.b, push_dialogue(p.session, 2), "alice's message reaches bob on the same socket");
}
