#pragma once

#include "audit/Checkpoint.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace dovewarden::audit {

// Returns a checkpoint of the chain at size and hash, signed, dated time
// (µs): CheckpointSigner::sign with the chain's origin.
using Sign = std::function<Checkpoint(
    std::uint64_t size, const std::string &hash, std::int64_t time)>;

} // namespace dovewarden::audit
