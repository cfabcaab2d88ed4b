#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "shared/proto/chat.pb.h"

namespace chat::logic {

/// Inbox partitions a transaction wrote to; the dispatcher is woken for exactly these.
using partition_set = std::set<int>;

/// What serving one command produced besides its reply, published after the commit.
struct side_effects {
    partition_set woken;                                      // wake the dispatcher for these
    std::vector<std::pair<std::string, proto::Push>> pushes;  // (broker id, push) to publish
};

}  // namespace chat::logic
