-- Acknowledged delivery, conversations that survive a network blip, expiring tokens.

-- How far each member has acknowledged receiving the partner's messages (ACK frames).
-- Everything after it is pushed again when the member resumes.
ALTER TABLE session_members ADD COLUMN acked_up_to bigint NOT NULL DEFAULT 0;

-- An account whose connection dropped is "away" (online = false, away_since set) for
-- the grace period: its sessions stay open until the grace runs out.
ALTER TABLE accounts ADD COLUMN away_since timestamptz;
-- When the account last lost its connection; on resume, sessions that ended since then
-- are announced again (PartnerExit), since that push may have found nobody to reach.
ALTER TABLE accounts ADD COLUMN dropped_at timestamptz;
ALTER TABLE accounts ADD COLUMN token_expires_at timestamptz;
UPDATE accounts SET token_expires_at = created_at + interval '30 days' WHERE token_hash IS NOT NULL;

CREATE INDEX accounts_away ON accounts (away_since) WHERE away_since IS NOT NULL;
