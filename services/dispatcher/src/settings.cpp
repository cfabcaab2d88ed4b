#include "services/dispatcher/src/settings.hpp"

namespace chat::dispatcher {

dispatcher_settings load_dispatcher_settings(const config::source& from) {
    auto root = config::load_file(from);
    dispatcher_settings s;
    {
        auto d = root.child("dispatcher");
        s.workers = d.get_int("workers", s.workers, 1, 64);
        s.batch_max = d.get_int("batch_max", s.batch_max, 1, 100000);
        s.sweep_interval = d.get_duration("sweep_interval", s.sweep_interval);
        s.rebalance_interval = d.get_duration("rebalance_interval", s.rebalance_interval);
        d.finish();
    }
    s.nats = config::read_nats(root);
    s.postgres = config::read_postgres(root);
    s.log = config::read_log(root);
    s.http = config::read_status_http(root);
    root.finish();
    return s;
}

}  // namespace chat::dispatcher
