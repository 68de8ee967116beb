#pragma once

#include <cstdint>
#include <string>

namespace dovewarden::audit {

// One entry of the audit log: who did what to which mailbox, when and from
// where. Records form one chain per daemon (its origin): seq counts 1, 2,
// 3, ... with no gap, and each record's hash covers the one before it
// (audit/Chain). A field that is not known is "" or 0.
struct Record {
  std::uint64_t seq = 0;  // in its chain, from 1
  std::int64_t time = 0;  // when it happened: µs since the epoch, UTC
  std::string operation;  // the event type: "message.expunge", "user.login",
                          // "admin.replicate", "events.lost", ...
  std::string user;       // whose mail it concerns
  std::string actor;      // who did it: the user, "dsync", "delivery",
                          // "admin:NAME@IP", "daemon"
  std::string ip;         // the client's address
  std::uint32_t port = 0; // the client's port
  std::string session;    // Dovecot's session id
  std::string service;    // imap, pop3, lmtp, lda, doveadm, dovewardend
  std::string mailbox;
  std::string mailbox_guid;
  std::uint32_t uid = 0;
  std::uint32_t uidvalidity = 0;
  std::string msgid;   // the message's Message-ID header
  std::string outcome; // "ok", or what went wrong ("failed", "lost", ...)
  std::string details; // a JSON object, compact: what else the event said
  // the plugin's process instance and message number, which make a record
  // unique: the same (inst, event_seq) is never recorded twice
  std::string inst;
  std::uint64_t event_seq = 0;
  std::string prev_hash; // the previous record's hash, 64 hex digits
  std::string hash;      // SHA-256 over prev_hash and this record
};

bool operator==(const Record &a, const Record &b);

} // namespace dovewarden::audit
