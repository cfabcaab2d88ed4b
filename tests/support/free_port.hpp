#pragma once

#include <cstdint>

namespace chat::test {

/// A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it for a
/// socket bound to port 0, which is then closed. Another process could take it
/// before the caller binds it, so the window is kept short.
std::uint16_t free_port();

/// True when something accepts TCP connections on 127.0.0.1:port.
bool port_accepts(std::uint16_t port);

}  // namespace chat::test
