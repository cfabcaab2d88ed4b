#pragma once

// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>

namespace chat::test {

/// Runs `f` on the thread that runs `ioc` and returns its result (or rethrows what it
/// threw) once it has run: how a test's main thread reads or changes the state of clients
/// that live on an I/O thread. Never call it from that thread.
template <class F>
auto run_on(boost::asio::io_context& ioc, F&& f) -> decltype(f()) {
    using result = decltype(f());
    std::packaged_task<result()> task(std::forward<F>(f));
    auto future = task.get_future();
    boost::asio::post(ioc, [&task] { task(); });
    return future.get();
}

}  // namespace chat::test
