-- The audit log (daemon/audit/AuditStore.hpp): many daemons may share the
-- database, each writing its own chain. Times are µs since the epoch; hashes
-- 64 hex digits; a field not known is '' or 0; details is the exact JSON
-- text the record's hash covers (text, never jsonb, which would rewrite it).
-- Text compares byte-wise (COLLATE "C"): an operation prefix is a range.
CREATE TABLE audit_records (
  chain TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  time BIGINT NOT NULL,
  operation TEXT COLLATE "C" NOT NULL,
  "user" TEXT COLLATE "C" NOT NULL,
  actor TEXT NOT NULL,
  ip TEXT COLLATE "C" NOT NULL,
  port INTEGER NOT NULL,
  session TEXT NOT NULL,
  service TEXT NOT NULL,
  mailbox TEXT COLLATE "C" NOT NULL,
  mailbox_guid TEXT NOT NULL,
  uid BIGINT NOT NULL,
  uidvalidity BIGINT NOT NULL,
  msgid TEXT COLLATE "C" NOT NULL,
  outcome TEXT NOT NULL,
  details TEXT NOT NULL,
  inst TEXT COLLATE "C" NOT NULL,
  event_seq BIGINT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (chain, seq)
);
-- a replayed event is refused, not recorded twice
CREATE UNIQUE INDEX audit_records_event ON audit_records (chain, inst, event_seq)
  WHERE inst <> '';
-- the filters of audit query; the fields most records lack are indexed
-- where they are set
CREATE INDEX audit_records_user ON audit_records (chain, "user", time);
CREATE INDEX audit_records_operation ON audit_records (chain, operation, time);
CREATE INDEX audit_records_time ON audit_records (chain, time);
CREATE INDEX audit_records_mailbox ON audit_records (chain, mailbox) WHERE mailbox <> '';
CREATE INDEX audit_records_ip ON audit_records (chain, ip) WHERE ip <> '';
CREATE INDEX audit_records_msgid ON audit_records (chain, msgid) WHERE msgid <> '';

CREATE TABLE audit_checkpoints (
  chain TEXT COLLATE "C" NOT NULL,
  size BIGINT NOT NULL,
  hash TEXT NOT NULL,
  time BIGINT NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (chain, size)
);

-- the checkpoint of the records retention removed
CREATE TABLE audit_base (
  chain TEXT COLLATE "C" PRIMARY KEY,
  size BIGINT NOT NULL,
  hash TEXT NOT NULL,
  time BIGINT NOT NULL,
  note TEXT NOT NULL
);

-- the last message number the writer saw from each plugin process instance
CREATE TABLE audit_instances (
  chain TEXT COLLATE "C" NOT NULL,
  inst TEXT COLLATE "C" NOT NULL,
  last_seq BIGINT NOT NULL,
  pid BIGINT NOT NULL,
  service TEXT NOT NULL,
  "user" TEXT NOT NULL,
  seen BIGINT NOT NULL,
  PRIMARY KEY (chain, inst)
);
CREATE INDEX audit_instances_seen ON audit_instances (chain, seen);
