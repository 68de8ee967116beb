#pragma once

#include "audit/Checkpoint.hpp"
#include "audit/Record.hpp"

#include <tl/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::audit {

// What a chain and its checkpoints are checked from, wherever they are kept:
// the store through the admin API, or an export off the host.
struct VerifyInput {
  std::string origin;
  // the retention base, if records were removed: the chain starts after it
  std::optional<Checkpoint> base;
  // every checkpoint, smallest size first
  std::vector<Checkpoint> checkpoints;
  // Returns up to limit records with seq > after, in seq order; fewer at
  // the end; an error text if they cannot be read.
  std::function<tl::expected<std::vector<Record>, std::string>(
      std::uint64_t after, std::size_t limit)>
      pages;
};

// What verify() found: OK with the counts, or the first damage.
struct VerifyReport {
  enum class Damage {
    none,
    edited,         // a record's contents do not match its hash
    deleted,        // records are missing from the middle
    reordered,      // records are out of their chain's order
    truncated,      // the chain ends before a checkpoint's size
    bad_checkpoint, // a checkpoint's signature or hash does not match
    unreadable,     // the records could not be read
  };

  Damage damage = Damage::none;
  std::uint64_t records = 0;     // checked
  std::uint64_t checkpoints = 0; // checked
  std::uint64_t seq = 0;         // the first bad record (or checkpoint size)
  std::string message;           // one line saying what is wrong

  bool ok() const { return damage == Damage::none; }
};

// Returns "edited", "deleted", ... as the report and the metrics name it.
const char *damage_name(VerifyReport::Damage damage);

// Walks the chain from its base (or its start) to its end: every record's
// seq follows the one before, its prev_hash is that record's hash and its
// hash matches its contents; every checkpoint's hash is the hash of the
// record at its size, and, with a key, its signature is that key's. Memory
// stays bounded whatever the chain's length.
// The first damage is reported: a record whose contents changed is edited;
// missing numbers, or a record renumbered to fill their place, are a
// deletion; a record found under another number (within the next 100,000)
// is a reordering; a chain that ends before a checkpoint's size is
// truncated (seq: that size). Records removed from the end after the last
// checkpoint cannot be detected: nothing signed says they existed.
VerifyReport verify(const VerifyInput &input,
                    const std::optional<CheckpointVerifier> &key);

} // namespace dovewarden::audit
