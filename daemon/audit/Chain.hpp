#pragma once

#include "audit/Record.hpp"

#include <string>

namespace dovewarden::audit {

// The hash before a chain's first record: 64 zeros.
extern const std::string k_genesis_hash;

// Returns the record's canonical encoding, the bytes its hash covers: every
// field but prev_hash and hash, in the order Record declares them, each as
// its length in bytes (decimal), ':', and its bytes; numbers in decimal.
// "3:seq" cannot be read two ways, so no two records encode alike.
// docs/audit.md gives it for verifiers written elsewhere.
std::string canonical(const Record &record);

// Returns SHA-256 over the 32 bytes prev_hash stands for and
// canonical(record), as 64 lower-case hex digits.
std::string record_hash(const std::string &prev_hash, const Record &record);

// Links record to the chain after a head: sets its seq (head_seq + 1),
// prev_hash (head_hash) and hash. The caller moves its head to it.
void link(Record &record, std::uint64_t head_seq, const std::string &head_hash);

} // namespace dovewarden::audit
