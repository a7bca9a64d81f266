-- ledgerd store, version 4: agents as a dimension. A probe belongs to at most one agent (NULL =
-- host-wide); the agent is stored with what it saw and what it fired, so history keeps it when
-- the config changes. Silences can match an agent.
ALTER TABLE observations ADD COLUMN agent TEXT;
ALTER TABLE incidents ADD COLUMN agent TEXT;
ALTER TABLE transitions ADD COLUMN agent TEXT;
ALTER TABLE silences ADD COLUMN agent TEXT;
CREATE INDEX observations_agent ON observations (agent, id);
