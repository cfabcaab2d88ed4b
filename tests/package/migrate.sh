#!/usr/bin/env bash
# migrate.sh DEB_DIR: the packaged `chat migrate`, unpacked anywhere and run with the
# packaged /etc/chat/migrate.yaml and no --migrations, finds the packaged migrations
# (beside its bin/, not the source tree's) and brings a new database to the newest
# version, then has nothing left to do. Its PostgreSQL is the CTest fixture's.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
deb=$(the_deb "$1")
state=${CHAT_TEST_STACK_DIR:?the postgres fixture sets CHAT_TEST_STACK_DIR}/state.json
admin_url=$(jq -er '.postgres[0].url' "$state") || fail "no PostgreSQL URL in $state"

unpack "$deb"
root=$UNPACKED
database=chat_package_test_$$
url=${admin_url%/*}/$database
psql -X -q -v ON_ERROR_STOP=1 "$admin_url" -c "CREATE DATABASE $database" || fail "CREATE DATABASE"
trap 'psql -X -q "$admin_url" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true; rm -rf "$root"' EXIT

migrations=$root/usr/share/chat/migrations
[[ -d $migrations ]] || fail "no /usr/share/chat/migrations in the package"
count=$(find "$migrations" -name '*.sql' | wc -l)
((count > 0)) || fail "no migrations in the package"
# From an empty directory, so a ./migrations cannot be what it reads.
migrate() { (cd "$root" && "$root/usr/bin/chat" migrate --config "$root/etc/chat/migrate.yaml" \
    --set "postgres.url=$url") 2>&1; }

out=$(migrate) || fail "chat migrate: $out"
echo "$out"
[[ $out == "migrate: applied $count migration(s) from $migrations; schema version $count" ]] ||
    fail "expected all $count packaged migrations applied from $migrations"
out=$(migrate) || fail "chat migrate, again: $out"
[[ $out == "migrate: applied 0 migration(s) from $migrations; schema version $count" ]] ||
    fail "a second run should apply nothing: $out"
