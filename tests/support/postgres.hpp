#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "tests/support/stack.hpp"

namespace chat::test {

/// The PostgreSQL server tests create scratch databases on, first of:
///  - the one CHAT_TEST_PG_URL names (superuser, trust auth);
///  - the CTest fixture's (tests/CMakeLists.txt: `chat-stack up --only postgres` into
///    the directory CHAT_TEST_STACK_DIR names; its state.json has the URL);
///  - a private cluster (chat_stack's postgres_node) this process starts on first use
///    and stops at exit, for a test run outside ctest.
/// When none is possible the test is skipped with the reason.
class postgres_server {
  public:
    static postgres_server& shared();
    ~postgres_server();
    postgres_server(const postgres_server&) = delete;
    postgres_server& operator=(const postgres_server&) = delete;

    /// postgresql://postgres@127.0.0.1:PORT/postgres (a superuser connection).
    const std::string& admin_url() const { return admin_url_; }
    /// admin_url() with the database replaced.
    std::string url_for(const std::string& database) const;
    /// The libpq password file of the chat roles (deploy/stack/roles.hpp), which log in
    /// on this server: the fixture's, or one made for the private or named server.
    const std::filesystem::path& passfile() const { return passfile_; }

    /// Runs SQL with psql and returns its unaligned, tuples-only output (rows separated
    /// by '\n', fields by '|'); throws with psql's message when it fails.
    std::string psql(const std::string& sql, const std::string& database = "postgres") const;

  private:
    postgres_server();

    temp_dir work_;
    std::string admin_url_;
    std::filesystem::path passfile_;
    std::unique_ptr<stack::postgres_node> private_;
};

/// A uniquely named database with the schema from migrations/ applied by
/// `chat migrate`; dropped (WITH (FORCE)) on destruction.
class scratch_database {
  public:
    /// work_dir holds chat migrate's log.
    explicit scratch_database(const std::filesystem::path& work_dir, bool migrate = true);
    ~scratch_database();
    scratch_database(const scratch_database&) = delete;
    scratch_database& operator=(const scratch_database&) = delete;

    const std::string& name() const { return name_; }
    std::string url() const;
    /// This database as one of the chat roles (stack::k_logic_role...), with the passfile.
    std::string url_as(const std::string& role) const;
    /// psql against this database (see postgres_server::psql).
    std::string query(const std::string& sql) const;

  private:
    postgres_server& server_;
    std::string name_;
};

}  // namespace chat::test
