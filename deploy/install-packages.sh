#!/usr/bin/env bash
# install-packages.sh: installs, with apt, what building and running the chat system
# needs on Debian 12 and is missing. ./deploy/dev.sh calls it before `up`, `test`, ...
#
#   deploy/install-packages.sh [GROUP...]
#
# Always the base packages; GROUP adds: clang (the fuzzers and sanitizer builds),
# bench (gnuplot for the benchmark's plot). Node 20 and npm do not come from Debian
# (its nodejs is too old for Vite): see docs/operations.md.
set -euo pipefail

readonly BASE=(
    cmake ninja-build pkg-config g++ ccache
    libboost-dev libboost-system-dev libnats-dev nats-server
    libprotobuf-dev protobuf-compiler nlohmann-json3-dev libpqxx-dev
    libyaml-cpp-dev libspdlog-dev libfmt-dev catch2 libssl-dev
    prometheus-cpp-dev # metrics in the Prometheus text format (its core library only)
    # dev.sh up's monitoring: Prometheus (promtool checks the alert rules in the tests)
    # and the exporter that turns PostgreSQL's statistics into metrics.
    prometheus prometheus-postgres-exporter
    postgresql curl jq
    libxml2-utils # xmllint: dev.sh test reads ctest's JUnit report
    chromium      # the web client's browser tests
    # The Debian package (dev.sh package, tests/package): dpkg-shlibdeps finds its
    # dependencies; systemd-analyze checks its units (systemd need not run).
    dpkg-dev systemd
    # The cluster (dev.sh up --cluster): PostgreSQL's HA manager, the load balancer in
    # front of the brokers, and openssl for the bus's self-signed CA.
    postgresql-15-auto-failover nginx-light openssl
)
# The fuzzers and the sanitizer builds use clang: they need it, libFuzzer and clang's
# sanitizer runtimes (in Debian 12 libclang-rt-14-dev, which clang does not pull in),
# and llvm-14's llvm-symbolizer for stack traces.
readonly CLANG=(clang libclang-rt-14-dev llvm-14)
readonly BENCH=(gnuplot-nox)

wanted=("${BASE[@]}")
for group in "$@"; do
    case $group in
        clang) wanted+=("${CLANG[@]}") ;;
        bench) wanted+=("${BENCH[@]}") ;;
        *) echo "install-packages.sh: unknown group '$group' (clang, bench)" >&2 && exit 2 ;;
    esac
done

missing=()
for pkg in "${wanted[@]}"; do
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) != installed ]]; then
        missing+=("$pkg")
    fi
done
((${#missing[@]} > 0)) || exit 0

as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        echo "install-packages.sh: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}
echo "==> installing ${missing[*]}"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian starts a package's service on install: a system-wide Prometheus on :9090 and an
# exporter on :9187, where dev.sh runs its own private ones. Stop and disable those we
# just installed (a machine that had them before keeps them as they were).
services=()
for pkg in "${missing[@]}"; do
    case $pkg in
        prometheus | prometheus-postgres-exporter) services+=("$pkg.service") ;;
    esac
done
if ((${#services[@]} > 0)) && [[ -d /run/systemd/system ]]; then
    as_root systemctl disable --now "${services[@]}" || true
fi
