-- chat_pick_online takes "the next one the rules allow" after a random point of the
-- match_key index: SELECT ... ORDER BY match_key LIMIT 1, with the rule functions in its
-- WHERE. That is cheap only as an ordered scan of the index that stops at the first one
-- who passes. With a thousand people online PostgreSQL chose a bitmap scan and a sort
-- instead, which calls the rules for everyone past the point before sorting: 45 ms a
-- pick, up to five picks a MATCH, MATCH groups of 32 took seconds and chat-bench with
-- 1,000 clients got code 2 from the broker's timeout. Sorting is never what this query
-- wants, whatever the population, so the function plans without it.
ALTER FUNCTION chat_pick_online(bigint, float8, int, interval) SET enable_sort = off SET enable_bitmapscan = off;
