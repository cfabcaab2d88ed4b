#include "bench/ceiling/population.hpp"

#include <memory>
#include <pqxx/pqxx>

#include "services/logic/src/sql.hpp"
#include "services/logic/src/store.hpp"
#include "shared/util/token.hpp"

namespace chat::bench::ceiling {

population populate(const std::string& url, std::size_t sessions, const std::string& broker_id) {
    population out;
    out.broker_id = broker_id;
    auto conn = std::make_unique<pqxx::connection>(url);
    pqxx::nontransaction(*conn).exec("SET synchronous_commit = off");
    logic::store db(std::move(conn));

    const std::string epoch = util::random_hex(8);
    const std::string token_hash = util::sha256_hex(util::random_token());
    for (std::size_t i = 0; i < 2 * sessions; ++i) {
        account a;
        a.conn_key = epoch + "/" + std::to_string(i + 1);
        a.id =
            db.create_account("ceiling" + std::to_string(i), token_hash, {broker_id, a.conn_key, ""});
        out.accounts.push_back(std::move(a));
    }
    for (std::size_t i = 0; i < sessions; ++i) {
        pqxx::work tx(db.connection());
        const auto row = tx.exec_params1("SELECT chat_open_session($1, $2, '{}', false)", out.accounts[2 * i].id,
                                         out.accounts[2 * i + 1].id);
        tx.commit();
        out.sessions.push_back({row[0].as<std::int64_t>(), 2 * i, 2 * i + 1});
    }

    pqxx::nontransaction(db.connection()).exec("DELETE FROM inbox");
    settle(url);
    return out;
}

void settle(const std::string& url) {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    tx.exec("VACUUM ANALYZE");
    tx.exec("CHECKPOINT");
}

}  // namespace chat::bench::ceiling
