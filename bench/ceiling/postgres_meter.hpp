#pragma once

#include <sys/types.h>

#include <pqxx/pqxx>
#include <set>
#include <vector>

#include "bench/ceiling/proc_cpu.hpp"
#include "bench/ceiling/report.hpp"

namespace chat::bench::ceiling {

/// The backend process serving `conn` (pg_backend_pid()).
pid_t backend_pid(pqxx::connection& conn);

/// The CPU of a PostgreSQL server while a probe runs, read from /proc (so the server must
/// run on this machine): the backends serving the probe's connections, and the rest of
/// the cluster, i.e. the postmaster and its other children (walwriter, checkpointer,
/// background writer, autovacuum launcher and workers, ...) including children that
/// exited meanwhile (through the postmaster's cutime/cstime). Backends of other clients
/// connected at the start are left out and reported apart.
class postgres_meter {
  public:
    /// `backends`: the probe's backend pids; all must be children of one postmaster.
    explicit postgres_meter(std::vector<pid_t> backends);

    /// Notes the other clients' backends (asking through `conn`), then samples.
    void start(pqxx::connection& conn);
    /// Samples again: the backends' and the rest's CPU since start().
    tree_split stop() const;

    /// Two rows for a probe's report: the backends, and the rest of the cluster.
    std::vector<process_cost> costs(const tree_split& used) const;

    pid_t postmaster() const { return postmaster_; }

  private:
    std::set<pid_t> backends_;
    std::set<pid_t> others_;  // other clients' backends
    pid_t postmaster_ = 0;
    tree_sample before_;
};

}  // namespace chat::bench::ceiling
