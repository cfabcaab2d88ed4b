#!/usr/bin/env bash
# Writes the seed corpus of request_checks_fuzz (corpus/request_checks/*.pb): one
# serialized chat.proto.Request per file, encoded by protoc from the text below.
# Run it again after changing the seeds; libFuzzer takes it from there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
shared=$here/../../shared
out=$here/corpus/request_checks
mkdir -p "$out"

seed() {
    local name=$1 text=$2
    printf '%s\n' "$text" | protoc -I "$shared" --encode=chat.proto.Request proto/chat.proto >"$out/$name.pb"
}

bound='origin { broker_id: "b1" conn_key: "e1/7" account_id: 17 }'
unbound='origin { broker_id: "b1" conn_key: "e1/8" }'
token=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

seed create_account "$unbound create_account { nickname: \"alice\" }"
seed create_account_bound "$bound create_account { nickname: \"alice\" }"
seed match "$bound match { account_id: 17 }"
seed match_other "$bound match { account_id: 23 }"
seed dialogue "$bound dialogue { items { request_id: \"17:1\" sender_id: 17 session_id: 5 content: \"hello\" }
  items { request_id: \"17:2\" sender_id: 17 session_id: 5 content: \"h\\303\\251llo\" } }"
seed dialogue_bad_items "$bound dialogue { items { request_id: \"\" sender_id: 17 session_id: 5 content: \"x\" }
  items { request_id: \"r\" sender_id: 23 session_id: 5 content: \"x\" }
  items { request_id: \"r\" sender_id: 17 session_id: 0 content: \"x\" }
  items { request_id: \"r\" sender_id: 17 session_id: 5 content: \"a\\000b\" } }"
seed viewed_ack "$bound viewed_ack { session_id: 5 account_id: 17 msg_id: 3 }"
seed logout "$bound logout { account_id: 17 }"
seed reconnect "$unbound reconnect { account_id: 17 token: \"$token\" }"
seed reconnect_bad_token "$unbound reconnect { account_id: 17 token: \"XYZ\" }"
seed offline "$bound offline { account_id: 17 }"
seed broker_hello "$unbound broker_hello { broker_id: \"b1\" epoch: \"e1\" }"
seed ack "$bound ack { acks { session_id: 5 msg_id: 12 } acks { session_id: 6 msg_id: 1 } }"
seed resume "$bound resume { account_id: 17 from { session_id: 5 msg_id: 3 } }"
seed no_origin 'match { account_id: 17 }'
seed no_body "$bound"
