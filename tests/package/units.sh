#!/usr/bin/env bash
# units.sh DEB_DIR: systemd-analyze verify finds nothing to say about the packaged units
# (it only warns about a misspelt directive, so any output fails), their binary and
# configs are where the package puts them, and `systemd-analyze security` finds every
# part of the sandbox in place but those ACCEPTED.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
deb=$(the_deb "$1")
# What `systemd-analyze security` may still find open (its json_field names), and why:
# the host's root (an image of our own would be one more thing to keep up), sockets and
# the network (it is a network service; libpq may use a Unix socket), /dev/rtc (what
# ProtectClock leaves readable), peer addresses (the site's firewall decides those).
readonly ACCEPTED='RootDirectoryOrRootImage|RestrictAddressFamilies_AF_UNIX|RestrictAddressFamilies_AF_INET_INET6|PrivateNetwork|DeviceAllow|IPAddressDeny'

unpack "$deb"
root=$UNPACKED
units=$root/lib/systemd/system
# verify needs the targets the units order themselves after; systemd isn't PID 1 here,
# so it gets them from the host's unit files, put where an admin's would be.
mkdir -p "$root/etc/systemd/system"
cp -a /lib/systemd/system/*.target /lib/systemd/system/*.slice "$root/etc/systemd/system/" ||
    fail "no systemd unit files on this machine (apt-get install systemd)"

# A template is verified as an instance of it.
names=()
for file in "$units"/chat-*.service; do
    name=${file##*/}
    names+=("${name/@./@test.}")
done
((${#names[@]} == 4)) || fail "expected 4 units, found: ${names[*]}"

analyze() { systemd-analyze --root="$root" --man=no --generators=no "$@" 2>&1; }
out=$(analyze verify "${names[@]}") || fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify has something to say: $out"

# The check itself: a misspelt directive must be noticed in this environment.
sed 's/^ExecStart=/ExecStrat=/' "$units/chat-migrate.service" >"$root/etc/systemd/system/chat-typo.service"
[[ -n $(analyze verify chat-typo.service || true) ]] || fail "verify did not notice a misspelt directive"
rm "$root/etc/systemd/system/chat-typo.service"

# What ExecStart names ships in the package: the binary, and every --config.
for path in $(grep -ho '/usr/bin/[a-z-]*\|/etc/chat/[a-z]*\.yaml' "$units"/chat-*.service | sort -u); do
    [[ -e $root$path ]] || fail "a unit names $path, which the package does not hold"
done

# A setting dropped from the sandbox (or misspelt in a way verify missed) shows here.
for name in "${names[@]}"; do
    out=$(analyze security --offline=yes --json=short "$name") || fail "systemd-analyze security $name: $out"
    open=$(jq -r --arg ok "^($ACCEPTED)\$" '.[] | select(.set == false and (.json_field | test($ok) | not))
        | "\(.name) \(.description)"' <<<"$out") || fail "systemd-analyze security $name: $out"
    [[ -z $open ]] || fail "$name: the sandbox lacks: $open"
    echo "$name: $(jq '[.[] | select(.set)] | length' <<<"$out") of $(jq length <<<"$out") sandbox checks passed"
done
echo "units: ${names[*]} verified"
