-- The audit log (daemon/audit/AuditStore.hpp), one chain per daemon.
-- Times are µs since the epoch; hashes 64 hex digits; a field not known is
-- '' or 0; details is the exact JSON text the record's hash covers.
-- The chains by name (a daemon's origin); the other tables refer to a chain by
-- its id, which keeps the keys of the indexes short.
CREATE TABLE audit_chains (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);

CREATE TABLE audit_records (
  chain INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  time INTEGER NOT NULL,
  operation TEXT NOT NULL,
  "user" TEXT NOT NULL,
  actor TEXT NOT NULL,
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  session TEXT NOT NULL,
  service TEXT NOT NULL,
  mailbox TEXT NOT NULL,
  mailbox_guid TEXT NOT NULL,
  uid INTEGER NOT NULL,
  uidvalidity INTEGER NOT NULL,
  msgid TEXT NOT NULL,
  outcome TEXT NOT NULL,
  details TEXT NOT NULL,
  inst TEXT NOT NULL,
  event_seq INTEGER NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (chain, seq)
) WITHOUT ROWID;
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
  chain INTEGER NOT NULL,
  size INTEGER NOT NULL,
  hash TEXT NOT NULL,
  time INTEGER NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (chain, size)
) WITHOUT ROWID;

-- the checkpoint of the records retention removed
CREATE TABLE audit_base (
  chain INTEGER PRIMARY KEY NOT NULL,
  size INTEGER NOT NULL,
  hash TEXT NOT NULL,
  time INTEGER NOT NULL,
  note TEXT NOT NULL
) WITHOUT ROWID;

-- the last message number the writer saw from each plugin process instance
CREATE TABLE audit_instances (
  chain INTEGER NOT NULL,
  inst TEXT NOT NULL,
  last_seq INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  service TEXT NOT NULL,
  "user" TEXT NOT NULL,
  seen INTEGER NOT NULL,
  PRIMARY KEY (chain, inst)
) WITHOUT ROWID;
CREATE INDEX audit_instances_seen ON audit_instances (chain, seen);
