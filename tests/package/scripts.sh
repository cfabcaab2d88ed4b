#!/usr/bin/env bash
# scripts.sh DEB_DIR: the packaged postinst, run with stand-ins for getent and adduser,
# creates the system user chat when it is missing, only then, and only on configure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
deb=$(the_deb "$1")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -e "$deb" "$work/control" || fail "dpkg-deb -e"
mkdir "$work/bin"
# getent says "no such user" unless $work/exists is there; adduser logs its arguments.
printf '#!/bin/sh\n[ -e "%s/exists" ]\n' "$work" >"$work/bin/getent"
printf '#!/bin/sh\necho "$*" >>"%s/adduser.log"\n' "$work" >"$work/bin/adduser"
chmod +x "$work/bin/getent" "$work/bin/adduser"
: >"$work/adduser.log"
postinst() { PATH="$work/bin:$PATH" "$work/control/postinst" "$@" || fail "postinst $* failed"; }

postinst configure ""
[[ $(cat "$work/adduser.log") == "--system --group --quiet --no-create-home --home /nonexistent --comment chat services chat" ]] ||
    fail "postinst configure ran: adduser $(cat "$work/adduser.log")"
touch "$work/exists"
postinst configure 0.12.0
postinst abort-upgrade 0.12.0
[[ $(wc -l <"$work/adduser.log") == 1 ]] || fail "postinst ran adduser for a user that exists, or not on configure"
echo "scripts: postinst creates the user chat once"
