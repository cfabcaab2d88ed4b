#include "tests/integration/nats_probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace chat::test {
namespace {

void require(natsStatus s, const char* what) {
    if (s != NATS_OK) throw std::runtime_error(std::string(what) + ": " + natsStatus_GetText(s));
}

}  // namespace

nats_probe::nats_probe(const std::string& url, const probe_login& login) {
    natsOptions* opts = nullptr;
    require(natsOptions_Create(&opts), "natsOptions_Create");
    require(natsOptions_SetURL(opts, url.c_str()), "natsOptions_SetURL");
    require(natsOptions_SetMaxReconnect(opts, 0), "natsOptions_SetMaxReconnect");
    require(natsOptions_SetTimeout(opts, 5000), "natsOptions_SetTimeout");
    require(natsOptions_SetErrorHandler(opts, on_error, this), "natsOptions_SetErrorHandler");
    require(natsOptions_SetClosedCB(opts, on_closed, this), "natsOptions_SetClosedCB");
    if (!login.user.empty())
        require(natsOptions_SetUserInfo(opts, login.user.c_str(), login.password.c_str()),
                "SetUserInfo");
    if (!login.ca_file.empty()) {
        require(natsOptions_SetSecure(opts, true), "natsOptions_SetSecure");
        require(natsOptions_LoadCATrustedCertificates(opts, login.ca_file.c_str()),
                "LoadCATrustedCertificates");
        if (!login.hostname.empty())
            require(natsOptions_SetExpectedHostname(opts, login.hostname.c_str()),
                    "SetExpectedHostname");
    }
    status_ = natsConnection_Connect(&nc_, opts);
    if (status_ != NATS_OK) {
        const char* text = nats_GetLastError(nullptr);
        refusal_ = std::string(natsStatus_GetText(status_)) + ": " + (text != nullptr ? text : "");
        nc_ = nullptr;
    }
    natsOptions_Destroy(opts);
}

nats_probe::~nats_probe() {
    if (nc_ != nullptr) {
        // cnats calls back on its own threads until the closed callback ran: only then
        // may this object go.
        natsConnection_Close(nc_);
        std::unique_lock lock(mutex_);
        closed_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return closed_; });
    }
    for (auto& box : inboxes_) natsSubscription_Destroy(box->sub);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
}

void nats_probe::on_closed(natsConnection*, void* self) {
    auto* probe = static_cast<nats_probe*>(self);
    std::lock_guard lock(probe->mutex_);
    probe->closed_ = true;
    probe->closed_cv_.notify_all();
}

void nats_probe::publish(const std::string& subject, const std::string& data) {
    require(natsConnection_PublishString(nc_, subject.c_str(), data.c_str()), "publish");
}

void nats_probe::request(const std::string& subject, const std::string& reply,
                         const std::string& data) {
    require(natsConnection_PublishRequestString(nc_, subject.c_str(), reply.c_str(), data.c_str()),
            "request");
}

std::size_t nats_probe::subscribe(const std::string& subject, const std::string& queue) {
    auto box = std::make_unique<inbox>();
    box->owner = this;
    const auto s =
        queue.empty()
            ? natsConnection_Subscribe(&box->sub, nc_, subject.c_str(), on_message, box.get())
            : natsConnection_QueueSubscribe(&box->sub, nc_, subject.c_str(), queue.c_str(),
                                            on_message, box.get());
    require(s, "subscribe");
    std::lock_guard lock(mutex_);
    inboxes_.push_back(std::move(box));
    return inboxes_.size() - 1;
}

int nats_probe::received(std::size_t index) const {
    std::lock_guard lock(mutex_);
    return inboxes_.at(index)->count.load();
}

std::string nats_probe::last_reply(std::size_t index) const {
    std::lock_guard lock(mutex_);
    return inboxes_.at(index)->reply;
}

void nats_probe::flush() { require(natsConnection_FlushTimeout(nc_, 5000), "flush"); }

void nats_probe::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* box = static_cast<inbox*>(closure);
    {
        std::lock_guard lock(box->owner->mutex_);
        const char* reply = natsMsg_GetReply(msg);
        box->reply = reply != nullptr ? reply : "";
        ++box->count;
    }
    natsMsg_Destroy(msg);
}

void nats_probe::on_error(natsConnection* nc, natsSubscription*, natsStatus s, void* self) {
    auto* probe = static_cast<nats_probe*>(self);
    const char* text = nullptr;
    natsConnection_GetLastError(nc, &text);
    std::lock_guard lock(probe->mutex_);
    probe->errors_.push_back(std::string(natsStatus_GetText(s)) + ": " +
                             (text != nullptr ? text : ""));
}

bool nats_probe::wait_error(const std::string& fragment, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        for (const auto& e : errors())
            if (e.find(fragment) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

std::vector<std::string> nats_probe::errors() const {
    std::lock_guard lock(mutex_);
    return errors_;
}

std::string plain_exchange(std::uint16_t port, const std::string& bytes,
                           std::chrono::milliseconds timeout) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string got;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        (void)!::write(fd, bytes.data(), bytes.size());
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        char buffer[4096];
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            const auto n = ::read(fd, buffer, sizeof buffer);
            if (n <= 0) break;  // closed by the server
            got.append(buffer, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return got;
}

}  // namespace chat::test
