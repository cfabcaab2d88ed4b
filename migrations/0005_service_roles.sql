-- Least privilege: each service connects as a role of its own with exactly the rights
-- its statements need (services/logic/src/sql.hpp and the functions it calls,
-- services/dispatcher/src/sql.hpp). The role running the migrations owns the schema
-- (chat_owner where chat-stack sets it up; docs/operations.md, "Database roles").
--
-- The roles are made NOLOGIN when they do not exist, so the grants below always have
-- someone to name and a plain database still migrates; whoever sets up a server gives
-- them LOGIN and a password (chat-stack does, as superuser, before it migrates). Roles
-- belong to the whole server, so databases migrated at the same time may race to make
-- them: the loser's error is swallowed, the role is there either way.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['chat_logic', 'chat_dispatcher'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$roles$;

-- Nobody else may connect or make temporary tables (PUBLIC may, by default).
DO $db$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO chat_logic, chat_dispatcher', current_database());
END
$db$;

-- Functions are executable by PUBLIC by default: only the services that call them may.
-- They run with the caller's rights (SECURITY INVOKER), so the table grants below
-- cover what they do inside.
REVOKE EXECUTE ON FUNCTION store_dialogues(bigint[], bigint[], text[], text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ack_deliveries(bigint[], bigint[], bigint[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION inbox_kind(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION chat_inbox_partitions() FROM PUBLIC;

-- logic: every command's transaction. SELECT ... FOR SHARE / FOR UPDATE needs UPDATE
-- too, and INSERT ... RETURNING needs SELECT on the returned columns.
GRANT SELECT, INSERT, UPDATE ON accounts TO chat_logic;                 -- LOGIN, MATCH, presence
GRANT SELECT, INSERT, UPDATE, DELETE ON brokers TO chat_logic;          -- hello, heartbeats, reaper
GRANT SELECT, INSERT, UPDATE ON sessions TO chat_logic;                 -- MATCH, EXIT, locks
GRANT SELECT, INSERT, UPDATE ON session_members TO chat_logic;          -- VIEWED, ACK positions
GRANT SELECT, INSERT, UPDATE ON session_sequences TO chat_logic;        -- msgIds
GRANT SELECT, INSERT ON messages TO chat_logic;                         -- DIALOGUE, resume
-- logic writes the inbox but never reads it (RETURNING session_id only) nor deletes from it.
GRANT INSERT ON inbox TO chat_logic;
GRANT SELECT (session_id) ON inbox TO chat_logic;
GRANT USAGE ON SEQUENCE accounts_id_seq, sessions_id_seq, inbox_id_seq TO chat_logic;
GRANT EXECUTE ON FUNCTION store_dialogues(bigint[], bigint[], text[], text[]),
                          ack_deliveries(bigint[], bigint[], bigint[]),
                          inbox_kind(text), chat_inbox_partitions() TO chat_logic;

-- dispatcher: reads the inbox with the receiver's routing and the message, deletes what
-- it sent. No token hashes, no writes anywhere else. (Its advisory locks and pg_locks
-- need no grant.)
GRANT SELECT, DELETE ON inbox TO chat_dispatcher;
GRANT SELECT (id, online, broker_id, nickname) ON accounts TO chat_dispatcher;
GRANT SELECT (session_id, msg_id, sender_id, content) ON messages TO chat_dispatcher;
GRANT EXECUTE ON FUNCTION inbox_kind(text), chat_inbox_partitions() TO chat_dispatcher;
