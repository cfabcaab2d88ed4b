#!/usr/bin/env bash
# build_deb.sh CPACK_CONFIG DEB_DIR: makes the Debian package of the build tree with
# cpack into DEB_DIR (the fixture of the other package tests). It packages what is
# built: dev.sh test builds the binaries and web/dist before ctest.
set -euo pipefail
config=$1 dir=$2
rm -rf "$dir"
mkdir -p "$dir"
cpack --config "$config" -B "$dir" >"$dir/cpack.log" 2>&1 || {
    cat "$dir/cpack.log" >&2
    echo "FAIL: cpack could not make the package (log above)" >&2
    exit 1
}
ls -l "$dir"/chat_*.deb
