-- Old conversations for the retention benchmark (bench/retention.sh): :sessions ended
-- conversations of :per_session messages each (100 bytes, alternating senders) between
-- :accounts accounts, the conversations ended :ended_ago ago. The accounts are offline
-- but dropped just now, so retention.accounts keeps them. One transaction; run as the
-- database's owner or a superuser:
--   psql "$URL" -v sessions=10000 -v per_session=100 -v accounts=2000 \
--        -v ended_ago="'6 days'" -f bench/retention_fill.sql
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE fill_accounts ON COMMIT DROP AS
WITH a AS (
    INSERT INTO accounts (nickname, online, dropped_at)
    SELECT 'old' || g, false, now() FROM generate_series(1, :accounts) g
    RETURNING id)
SELECT row_number() OVER (ORDER BY id) AS n, id FROM a;

-- Session k pairs accounts k and k+1 (mod :accounts).
CREATE TEMP TABLE fill_sessions ON COMMIT DROP AS
WITH pairs AS (
    SELECT k, (SELECT id FROM fill_accounts WHERE n = (k % :accounts) + 1) AS x,
              (SELECT id FROM fill_accounts WHERE n = ((k + 1) % :accounts) + 1) AS y
      FROM generate_series(1, :sessions) k),
s AS (
    INSERT INTO sessions (account_lo, account_hi, created_at, ended_at)
    SELECT LEAST(x, y), GREATEST(x, y), now() - :ended_ago::interval - interval '1 hour',
           now() - :ended_ago::interval - k * interval '1 ms'
      FROM pairs
    RETURNING id, account_lo, account_hi)
SELECT * FROM s;

INSERT INTO session_members (session_id, account_id)
SELECT id, account_lo FROM fill_sessions UNION ALL SELECT id, account_hi FROM fill_sessions;
INSERT INTO session_sequences (session_id, last_msg_id) SELECT id, :per_session FROM fill_sessions;
INSERT INTO messages (session_id, msg_id, sender_id, request_id, content, created_at)
SELECT s.id, m, CASE WHEN m % 2 = 0 THEN s.account_lo ELSE s.account_hi END, 'fill-' || m,
       rpad('old message ' || m, 100, '.'), now() - :ended_ago::interval - interval '30 minutes'
  FROM fill_sessions s, generate_series(1, :per_session) m;
COMMIT;
-- The planner and the visibility map know the new rows: the benchmark measures the purge,
-- not a first autovacuum of a million fresh rows.
VACUUM ANALYZE messages;
VACUUM ANALYZE sessions;
VACUUM ANALYZE session_members;
VACUUM ANALYZE session_sequences;
VACUUM ANALYZE accounts;
