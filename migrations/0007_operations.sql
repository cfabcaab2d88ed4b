-- Running it in production (docs/operations.md): what the metrics and retention need.

-- When an inbox row was written (its transaction's start): the dispatcher reports how
-- long rows wait for their push (chat_dispatch_delivery_seconds). A constant default,
-- so adding the column rewrites nothing.
ALTER TABLE inbox ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
