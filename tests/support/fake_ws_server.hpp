#pragma once

#include <cstdint>
#include <memory>

namespace chat::test {

/// A tiny WebSocket server for the harness's self-test, so ws_client is checked
/// against something other than the broker it is meant to test. Per text frame:
/// {"cmd":"X",...} is answered {"cmd":"X","code":0,"echo":<frame>} plus its requestId;
/// "PUSH_ME" first sends a PUSH_TEST frame, then the answer; "PING_ME" sends a
/// broker-style PING and answers once the client's PONG arrives; "CLOSE_ME" closes
/// with code 4001.
class fake_ws_server {
  public:
    fake_ws_server();
    ~fake_ws_server();
    std::uint16_t port() const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chat::test
