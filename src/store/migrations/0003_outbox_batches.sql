-- ledgerd store, version 3: grouped delivery and storm control.
-- `batch` is the id of the first row of the message a row was delivered in (or summarised by).
ALTER TABLE outbox ADD COLUMN batch INTEGER;
CREATE INDEX outbox_sent ON outbox (channel, status, sent_at);
