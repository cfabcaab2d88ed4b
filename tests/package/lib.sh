# lib.sh: what the package tests share (sourced). The package is the one .deb that
# build_deb.sh left in DEB_DIR (the fixture test package.build).

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

# the_deb DEB_DIR: prints the path of the package built there.
the_deb() {
    local debs=("$1"/chat_*.deb)
    [[ -f ${debs[0]} ]] || fail "no chat_*.deb in $1: did package.build run?"
    ((${#debs[@]} == 1)) || fail "several packages in $1: ${debs[*]}"
    echo "${debs[0]}"
}

# unpack DEB: unpacks the package into a new temporary directory, UNPACKED, removed at
# exit: the files as dpkg would install them (its scripts do not run).
unpack() {
    UNPACKED=$(mktemp -d "${TMPDIR:-/tmp}/chat-package-test.XXXXXX")
    trap 'rm -rf "$UNPACKED"' EXIT
    dpkg-deb -x "$1" "$UNPACKED" || fail "dpkg-deb -x $1"
}
