#pragma once

#include <functional>
#include <map>
#include <string>

#include "shared/proto/chat.pb.h"

namespace chat::dispatcher {

/// Groups deliveries by broker into Push messages and hands each one to `publish` when it
/// nears `max_bytes` (NATS refuses payloads above its max_payload, 1 MiB by default) or
/// on flush(). Deliveries keep their order within a broker.
class push_batcher {
public:
    using publish_fn = std::function<void(const std::string& broker_id, const proto::Push& push)>;

    push_batcher(std::size_t max_bytes, publish_fn publish) : max_bytes_(max_bytes), publish_(std::move(publish)) {}

    void add(const std::string& broker_id, proto::Delivery delivery);
    void flush();

private:
    struct pending {
        proto::Push push;
        std::size_t bytes = 0;
    };
    std::size_t max_bytes_;
    publish_fn publish_;
    std::map<std::string, pending> by_broker_;
};

}  // namespace chat::dispatcher
