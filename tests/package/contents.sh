#!/usr/bin/env bash
# contents.sh DEB_DIR SOURCE_DIR: the package holds the binary, every migration of the
# source tree, the configs in /etc/chat, the built web client, the units and the docs,
# and nothing of the dev tools.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
deb=$(the_deb "$1")
src=$2

# dpkg-deb --contents: "MODE OWNER SIZE DATE TIME ./PATH"; the paths as installed.
listing=$(dpkg-deb --contents "$deb") || fail "dpkg-deb --contents $deb"
paths=$(awk '{ sub(/^\./, "", $6); print $6 }' <<<"$listing")

expect=(
    /usr/bin/chat /usr/bin/chat-backup
    /usr/share/chat/prometheus/alerts.yml /usr/share/chat/prometheus/prometheus.yml
    /usr/share/chat/prometheus/postgres-queries.yaml /usr/share/chat/grafana/chat-dashboard.json
    /etc/chat/broker.yaml /etc/chat/logic.yaml /etc/chat/dispatcher.yaml /etc/chat/migrate.yaml
    /usr/share/chat/web/index.html
    /lib/systemd/system/chat-broker@.service /lib/systemd/system/chat-logic@.service
    /lib/systemd/system/chat-dispatcher@.service /lib/systemd/system/chat-migrate.service
    /lib/systemd/system/chat-.service.d/hardening.conf
    /usr/share/doc/chat/operations.md
)
for sql in "$src"/migrations/*.sql; do expect+=("/usr/share/chat/migrations/${sql##*/}"); done
missing=0
for path in "${expect[@]}"; do
    grep -qxF -- "$path" <<<"$paths" || { echo "missing: $path" >&2 && missing=1; }
done
((missing == 0)) || fail "the package lacks files (above)"

# The web client's scripts and styles came along with its index.html.
grep -q '^/usr/share/chat/web/assets/.*\.js$' <<<"$paths" || fail "no web client assets"
# The programs: root's, executable by all.
for program in chat chat-backup; do
    grep -qE "^-rwxr-xr-x root/root .* \./usr/bin/$program\$" <<<"$listing" || fail "/usr/bin/$program is not root's 0755"
done
# Nothing but these trees; no dev tool (chat-stack, the per-service binaries).
extra=$(grep -vE '^/(usr/bin/chat(-backup)?$|usr/share/chat/|usr/share/doc/chat/|etc/chat/|lib/systemd/system/chat-)' \
    <<<"$paths" | grep -vxE '/|/usr/|/usr/bin/|/usr/share/|/usr/share/doc/|/etc/|/lib/|/lib/systemd/|/lib/systemd/system/' || true)
[[ -z $extra ]] || fail "unexpected files in the package: $extra"
echo "contents: ${#expect[@]} required files present, $(wc -l <<<"$paths") entries in all"
