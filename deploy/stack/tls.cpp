#include "deploy/stack/tls.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "deploy/stack/files.hpp"
#include "deploy/stack/process.hpp"

namespace chat::stack {
namespace {

// X.509 v3 extensions of the server certificate. Go (nats-server) refuses a leaf without
// the right key usages, and a route's far end checks the same certificate as a client's.
constexpr const char* k_server_extensions =
    "basicConstraints = critical, CA:FALSE\n"
    "keyUsage = critical, digitalSignature, keyEncipherment\n"
    "extendedKeyUsage = serverAuth, clientAuth\n"
    "subjectAltName = IP:127.0.0.1, DNS:localhost\n";

void openssl(const std::filesystem::path& dir, std::vector<std::string> args) {
    auto program = find_program("openssl");
    if (program.empty())
        throw std::runtime_error(
            "openssl is not installed (deploy/install-packages.sh installs it)");
    args.insert(args.begin(), program.string());
    spawn_options options;
    options.log_file = dir / "openssl.log";
    options.cwd = dir;
    const auto command = args[1];
    if (run_command(std::move(args), options, std::chrono::seconds(30)) != 0)
        throw std::runtime_error("openssl " + command + " failed:\n" +
                                 tail_file(dir / "openssl.log", 20));
}

}  // namespace

tls_files make_server_certificate(const std::filesystem::path& dir) {
    make_private_dir(dir);
    tls_files files{dir / "ca.pem", dir / "server.pem", dir / "server-key.pem"};
    const auto ca_key = dir / "ca-key.pem";
    if (std::filesystem::exists(files.ca_file) && std::filesystem::exists(files.cert_file) &&
        std::filesystem::exists(files.key_file))
        return files;
    // P-256 keys: small and fast, and every TLS stack involved (Go, OpenSSL) takes them.
    const std::vector<std::string> new_key{"-newkey", "ec", "-pkeyopt",
                                           "ec_paramgen_curve:prime256v1", "-nodes"};
    std::vector<std::string> ca{"req",     "-x509",
                                "-days",   "3650",
                                "-subj",   "/CN=chat-stack private CA",
                                "-addext", "basicConstraints=critical,CA:TRUE",
                                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                                "-keyout", ca_key.string(),
                                "-out",    files.ca_file.string()};
    ca.insert(ca.begin() + 2, new_key.begin(), new_key.end());
    openssl(dir, ca);
    const auto request = dir / "server.csr";
    std::vector<std::string> csr{"req",           "-new",          "-subj",
                                 "/CN=localhost", "-keyout",       files.key_file.string(),
                                 "-out",          request.string()};
    csr.insert(csr.begin() + 2, new_key.begin(), new_key.end());
    openssl(dir, csr);
    const auto extensions = dir / "server.ext";
    write_file(extensions, k_server_extensions);
    openssl(dir,
            {"x509", "-req", "-in", request.string(), "-CA", files.ca_file.string(), "-CAkey",
             ca_key.string(), "-CAcreateserial", "-CAserial", (dir / "ca.srl").string(), "-days",
             "825", "-sha256", "-extfile", extensions.string(), "-out", files.cert_file.string()});
    // openssl's own modes depend on the umask: the keys are for their owner only.
    for (const auto& key : {ca_key, files.key_file})
        std::filesystem::permissions(
            key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
            std::filesystem::perm_options::replace);
    std::filesystem::remove(request);
    return files;
}

}  // namespace chat::stack
