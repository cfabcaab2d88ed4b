#pragma once

// The process, file and server helpers of chat_stack (deploy/stack/) under the names
// the tests have always used (chat::test::child_process, free_port, nats_server...).

#include "deploy/stack/files.hpp"
#include "deploy/stack/nats.hpp"
#include "deploy/stack/net.hpp"
#include "deploy/stack/postgres.hpp"
#include "deploy/stack/process.hpp"
#include "deploy/stack/wait.hpp"

namespace chat::test {

using namespace std::chrono_literals;
using stack::binary;
using stack::bin_dir;
using stack::child_process;
using stack::find_program;
using stack::free_port;
using stack::http_get;
using stack::http_response;
using stack::nats_server;
using stack::port_accepts;
using stack::read_file;
using stack::run_command;
using stack::source_dir;
using stack::spawn_options;
using stack::tail_file;
using stack::temp_dir;
using stack::wait_until;
using stack::write_file;

}  // namespace chat::test
