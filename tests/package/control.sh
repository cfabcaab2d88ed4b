#!/usr/bin/env bash
# control.sh DEB_DIR VERSION: the control fields, the conffiles and the maintainer scripts.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
deb=$(the_deb "$1")
version=$2

field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == chat ]] || fail "Package: $(field Package)"
[[ $(field Version) == "$version" ]] || fail "Version: $(field Version), the project's is $version"
[[ $(field Architecture) == "$(dpkg --print-architecture)" ]] || fail "Architecture: $(field Architecture)"
[[ -n $(field Maintainer) ]] || fail "no Maintainer"
[[ -n $(field Description) ]] || fail "no Description"
depends=$(field Depends)
# dpkg-shlibdeps found the libraries' packages (cnats, libpqxx), and adduser is there.
for dep in adduser libnats libpqxx libyaml-cpp libprotobuf; do
    grep -q "$dep" <<<"$depends" || fail "Depends lacks $dep: $depends"
done

control=$(mktemp -d)
trap 'rm -rf "$control"' EXIT
dpkg-deb -e "$deb" "$control" || fail "dpkg-deb -e"
want=$(printf '%s\n' /etc/chat/broker.yaml /etc/chat/dispatcher.yaml /etc/chat/logic.yaml /etc/chat/migrate.yaml)
[[ $(sort "$control/conffiles") == "$want" ]] || fail "conffiles: $(cat "$control/conffiles")"
for script in postinst prerm postrm; do
    [[ -x $control/$script ]] || fail "$script is missing or not executable"
    sh -n "$control/$script" || fail "$script: syntax error"
done
grep -q 'adduser --system' "$control/postinst" || fail "postinst creates no system user"
echo "control: $(field Package) $(field Version) $(field Architecture); Depends: $depends"
