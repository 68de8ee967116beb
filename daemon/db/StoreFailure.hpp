#pragma once

#include <tl/expected.hpp>

#include <iosfwd>
#include <string>

namespace dovewarden::db {

// Why a store call failed: one kind for each thing a caller does
// differently. The message names the store and never holds a password.
struct StoreFailure {
  enum class Kind {
    unavailable, // try again later: the server or the file cannot be
                 // reached, is busy or full, or did not answer in time
    conflict,    // the change collides with what is stored (an id taken)
    invalid,     // the call's arguments or the store's options are wrong
    corrupt,     // what is stored cannot be read back
  };

  Kind kind = Kind::unavailable;
  std::string message;
};

// What a store call returns: its value, or why it failed.
template <typename T> using Result = tl::expected<T, StoreFailure>;

// Returns "unavailable", "conflict", "invalid" or "corrupt".
const char *failure_kind_name(StoreFailure::Kind kind);

// Returns a failure of the kind each names, ready to return as a Result (a
// conflict comes only from the database).
tl::unexpected<StoreFailure> unavailable(std::string message);
tl::unexpected<StoreFailure> invalid(std::string message);
tl::unexpected<StoreFailure> corrupt(std::string message);

// Writes the message, as logs show a failure.
std::ostream &operator<<(std::ostream &out, const StoreFailure &failure);

} // namespace dovewarden::db
