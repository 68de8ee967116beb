#pragma once

#include "FakeAuditStore.hpp"
#include "audit/AuditMetrics.hpp"
#include "audit/Sign.hpp"
#include "core/Event.hpp"
#include "metrics/Metrics.hpp"

#include <atomic>
#include <cstdint>
#include <string>

namespace dovewarden::test {

// A plugin event of process instance inst, message number seq.
inline core::Event plugin_event(const std::string &inst, std::uint64_t seq,
                                const std::string &type = "message.expunge") {
  core::Event event;
  event.source = "zmq";
  event.message.type = type;
  event.message.set("ts", std::uint64_t{1700000000000000} + seq);
  event.message.set("svc", std::string("imap"));
  event.message.set("pid", std::uint64_t{4242});
  event.message.set("inst", inst);
  event.message.set("seq", seq);
  event.message.set("user", std::string("alice"));
  event.message.set("mailbox", std::string("INBOX"));
  event.message.set("uid", seq);
  return event;
}

// The store, metrics and a signer that the audit writer and retention need;
// the checkpoints' notes are not real signatures.
struct AuditFixture {
  metrics::Metrics metrics;
  audit::AuditMetrics audit_metrics{metrics.registry()};
  FakeAuditStore store;
  std::atomic<int> signed_count = 0;

  audit::Sign sign() {
    return
        [this](std::uint64_t size, const std::string &hash, std::int64_t time) {
          ++signed_count;
          audit::Checkpoint checkpoint;
          checkpoint.origin = store.chain();
          checkpoint.size = size;
          checkpoint.hash = hash;
          checkpoint.time = time;
          checkpoint.note = "fake note of " + std::to_string(size) + "\n";
          return checkpoint;
        };
  }
};

} // namespace dovewarden::test
