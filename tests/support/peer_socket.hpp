#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace chat::test {

/// Whether the TCP socket that process `pid` holds for a loopback connection between
/// its `local_port` and our `peer_port` has TCP_NODELAY set. Takes a copy of the
/// descriptor with pidfd_getfd (the process must be ours to trace, e.g. our child).
/// nullopt when no such socket is found or it cannot be copied.
std::optional<bool> peer_socket_nodelay(pid_t pid, std::uint16_t local_port, std::uint16_t peer_port);

}  // namespace chat::test
