// chat-bench: load generator for the chat system. See bench/README.md.
#include <sys/resource.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/engine.hpp"
#include "bench/options.hpp"
#include "bench/report.hpp"

namespace {

// Thousands of sockets: the soft open-file limit goes up to the hard one.
rlim_t raise_open_files() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
        getrlimit(RLIMIT_NOFILE, &lim);
    }
    return lim.rlim_cur;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace chat::bench;
    options o;
    try {
        auto parsed = parse_options(std::vector<std::string>(argv + 1, argv + argc));
        if (!parsed) {
            std::fputs(usage_text().c_str(), stdout);
            return 0;
        }
        o = *parsed;
    } catch (const usage_error& e) {
        std::fprintf(stderr, "chat-bench: %s\n", e.what());
        return 2;
    }

    const std::size_t clients = o.mode == run_mode::idle    ? o.idle
                                : o.mode == run_mode::match ? o.match_accounts
                                                            : o.connections;
    const rlim_t files = raise_open_files();
    if (files != RLIM_INFINITY && clients + 64 > files) {
        std::fprintf(stderr,
                     "chat-bench: %zu clients need more open files than the limit %llu allows\n",
                     clients, static_cast<unsigned long long>(files));
        return 2;
    }

    try {
        engine bench(o);
        report_output out;
        switch (o.mode) {
            case run_mode::dialogue:
                out = describe(o, bench.run_dialogue());
                break;
            case run_mode::match:
                out = describe(o, bench.run_match());
                break;
            case run_mode::idle:
                out = describe(o, bench.run_idle());
                break;
        }
        std::fputs(out.table.c_str(), stdout);
        std::printf("%s\n", out.line.c_str());
        std::fflush(stdout);
        if (!o.json_path.empty()) {
            std::ofstream file(o.json_path);
            file << out.raw.dump(2) << '\n';
            if (!file) {
                std::fprintf(stderr, "chat-bench: cannot write %s\n", o.json_path.c_str());
                return 2;
            }
        }
        return out.passed ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chat-bench: FAILED: %s\n", e.what());
        return 2;
    }
}
