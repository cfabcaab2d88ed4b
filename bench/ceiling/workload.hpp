#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/ceiling/population.hpp"
#include "shared/proto/chat.pb.h"

namespace chat::bench::ceiling {

/// The DIALOGUE requests brokers send logic, built as ws_connection builds them: the
/// origin of the sending connection and its items. Request r comes from one member of
/// session r mod S (the two members take turns) and carries items for that session, so
/// the requests of one store batch span many sessions. The content is chat-bench's,
/// "t=<ns>;c=<client>;s=<seq>;" padded with 'x' to `payload` bytes, and the requestId
/// the client's sequence number as text.
class request_source {
  public:
    request_source(const population& people, std::size_t payload, int items_per_request);

    /// The next request, with at most `items` items (fewer only at the end of a run).
    proto::Request next(int items);
    int items_per_request() const { return items_per_request_; }

  private:
    const population& people_;
    std::size_t payload_;
    int items_per_request_;
    std::size_t next_session_ = 0;
    std::vector<std::uint64_t> sent_;  // per session: requests so far (whose turn it is)
    std::vector<std::uint64_t> seq_;   // per account: its client's DIALOGUEs so far
};

}  // namespace chat::bench::ceiling
