-- The whole schema of the first release. Forward-only: never edit this file once applied;
-- add 0002_... instead (chat migrate refuses an edited file).

-- A person: a nickname, a token (stored only as its SHA-256), and where they are
-- connected while online (the routing table the dispatcher reads).
CREATE TABLE accounts (
    id          bigserial PRIMARY KEY,
    nickname    text        NOT NULL,
    token_hash  text,                           -- NULL after LOGOUT: the token is revoked
    created_at  timestamptz NOT NULL DEFAULT now(),
    online      boolean     NOT NULL DEFAULT false,
    broker_id   text,                           -- broker.<id>.push reaches the account
    conn_key    text,                           -- "<broker epoch>/<connection number>"
    -- Random position for matching: a uniform key lets MATCH pick a random online
    -- account with one index probe instead of scanning everyone online.
    match_key   double precision NOT NULL DEFAULT random()
);
CREATE INDEX accounts_online_match_key ON accounts (match_key) WHERE online;
CREATE INDEX accounts_online_broker ON accounts (broker_id) WHERE online;

-- Every broker process announces itself; logic takes the accounts of a silent one offline.
CREATE TABLE brokers (
    id       text PRIMARY KEY,
    epoch    text        NOT NULL,              -- changes on every broker start
    seen_at  timestamptz NOT NULL DEFAULT now()
);

-- A conversation between two accounts (account_lo < account_hi).
CREATE TABLE sessions (
    id          bigserial PRIMARY KEY,
    account_lo  bigint      NOT NULL REFERENCES accounts (id),
    account_hi  bigint      NOT NULL REFERENCES accounts (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    CHECK (account_lo < account_hi)
);
-- At most one open session per pair, even under concurrent MATCHes.
CREATE UNIQUE INDEX sessions_open_pair ON sessions (account_lo, account_hi) WHERE ended_at IS NULL;

CREATE TABLE session_members (
    session_id    bigint NOT NULL REFERENCES sessions (id),
    account_id    bigint NOT NULL REFERENCES accounts (id),
    viewed_up_to  bigint NOT NULL DEFAULT 0,    -- VIEWED_ACK position of this member
    PRIMARY KEY (session_id, account_id)
);
CREATE INDEX session_members_by_account ON session_members (account_id, session_id);

-- The per-session msgId issuer: DIALOGUE bumps last_msg_id in the transaction that
-- stores the message, so msgIds are 1, 2, 3... with no gaps and no duplicates.
CREATE TABLE session_sequences (
    session_id   bigint PRIMARY KEY REFERENCES sessions (id),
    last_msg_id  bigint NOT NULL DEFAULT 0
);

CREATE TABLE messages (
    session_id  bigint      NOT NULL REFERENCES sessions (id),
    msg_id      bigint      NOT NULL,
    sender_id   bigint      NOT NULL REFERENCES accounts (id),
    request_id  text        NOT NULL,
    content     text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, msg_id),
    -- The idempotency key: a resent DIALOGUE finds its first msgId here.
    UNIQUE (session_id, sender_id, request_id)
);

-- Deliveries waiting for the dispatcher, written in the same transaction as the change
-- they announce. Partitioned by session so each partition has one drainer at a time
-- and a session's rows are always delivered in order.
CREATE FUNCTION chat_inbox_partitions() RETURNS integer
    LANGUAGE sql IMMUTABLE AS 'SELECT 32';

CREATE TABLE inbox (
    id           bigserial PRIMARY KEY,
    partition    integer  NOT NULL GENERATED ALWAYS AS ((session_id % 32)::integer) STORED,
    session_id   bigint   NOT NULL,
    receiver_id  bigint   NOT NULL,
    kind         smallint NOT NULL,    -- 1 message, 2 NewSession, 3 PartnerExit, 4 viewed
    msg_id       bigint   NOT NULL DEFAULT 0,
    peer_id      bigint   NOT NULL DEFAULT 0
);
CREATE INDEX inbox_by_partition ON inbox (partition, id);
