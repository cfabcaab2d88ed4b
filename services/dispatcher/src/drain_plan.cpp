#include "services/dispatcher/src/drain_plan.hpp"

#include "services/dispatcher/src/push_batcher.hpp"
#include "shared/db/inbox_kind.hpp"
#include "shared/proto/chat.pb.h"

namespace chat::dispatcher {

drain_plan plan_drain(std::vector<inbox_row> rows, std::size_t max_push_bytes) {
    drain_plan plan;
    plan.handled.reserve(rows.size());
    push_batcher batcher(max_push_bytes,
                         [&plan](const std::string& broker_id, const proto::Push& push) {
                             plan.pushes.push_back({broker_id, push.SerializeAsString()});
                         });
    for (auto& row : rows) {
        plan.handled.push_back(row.id);
        // Offline receivers get nothing pushed: the row is done (the message itself stays
        // stored in `messages`).
        if (!row.online || !row.broker_id) continue;
        // The CHECK constraint keeps unknown kinds out; a row that has one anyway (a newer
        // logic wrote it) is dropped rather than pushed as something it is not.
        const auto kind = db::inbox_kind_of(row.kind);
        if (!kind) continue;
        proto::Delivery d;
        d.set_kind(db::delivery_kind(*kind));
        d.set_session_id(row.session_id);
        d.set_receiver_id(row.receiver_id);
        d.set_msg_id(row.msg_id);
        d.set_peer_id(row.peer_id);
        if (d.kind() == proto::Delivery::MESSAGE) {
            if (!row.sender_id) continue;
            d.set_sender_id(*row.sender_id);
            d.set_content(std::move(row.content));
        } else if (d.kind() == proto::Delivery::NEW_SESSION) {
            d.set_sender_id(d.peer_id());
            if (row.peer_name) d.set_peer_name(std::move(*row.peer_name));
            for (auto& tag : row.common_interests) d.add_common_interests(std::move(tag));
        }
        batcher.add(*row.broker_id, std::move(d));
    }
    batcher.flush();
    return plan;
}

}  // namespace chat::dispatcher
