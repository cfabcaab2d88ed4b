#include "bench/ceiling/postgres_meter.hpp"

#include <fstream>
#include <stdexcept>
#include <string>

#include "bench/proc_stats.hpp"

namespace chat::bench::ceiling {
namespace {

std::string comm_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(in, name);
    return name;
}

}  // namespace

pid_t backend_pid(pqxx::connection& conn) {
    return pqxx::nontransaction(conn).exec1("SELECT pg_backend_pid()")[0].as<pid_t>();
}

postgres_meter::postgres_meter(std::vector<pid_t> backends)
    : backends_(backends.begin(), backends.end()) {
    for (pid_t backend : backends_) {
        const auto stat = read_proc_stat(backend);
        if (!stat || comm_of(backend) != "postgres")
            throw std::runtime_error(
                "PostgreSQL backend " + std::to_string(backend) +
                " is not a process on this machine: chat-ceiling reads the server's CPU from "
                "/proc, so --pg-url must name a server running here");
        if (postmaster_ != 0 && stat->ppid != postmaster_)
            throw std::runtime_error("the probe's backends belong to different postmasters");
        postmaster_ = stat->ppid;
    }
    if (postmaster_ == 0) throw std::runtime_error("postgres_meter needs at least one backend");
}

void postgres_meter::start(pqxx::connection& conn) {
    others_.clear();
    const auto rows = pqxx::nontransaction(conn).exec(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'");
    for (const auto& row : rows) {
        const auto pid = row[0].as<pid_t>();
        if (!backends_.count(pid)) others_.insert(pid);
    }
    before_ = sample_tree(postmaster_);
}

tree_split postgres_meter::stop() const {
    return split_tree_cpu(before_, sample_tree(postmaster_), backends_, others_);
}

std::vector<process_cost> postgres_meter::costs(const tree_split& used) const {
    std::string backends = "pg_backend_pid()";
    for (pid_t p :
         backends_) {  // appended piece by piece: g++ 12 -O3 warns falsely on "..." + string
        backends += ' ';
        backends += std::to_string(p);
    }
    backends += ", /proc schedstat";
    std::string rest = "postmaster ";
    rest += std::to_string(postmaster_);
    rest +=
        " and its other children (walwriter, checkpointer, bgwriter, autovacuum...), exited ones "
        "included; other clients' backends left out";
    return {{"postgres backend", backends, used.probe_ns},
            {"postgres other processes", rest, used.rest_ns}};
}

}  // namespace chat::bench::ceiling
