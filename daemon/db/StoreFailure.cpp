#include "db/StoreFailure.hpp"

#include <array>
#include <ostream>
#include <utility>

namespace dovewarden::db {

namespace {

using Kind = StoreFailure::Kind;

// in the order of Kind
constexpr std::array<const char *, 4> k_kind_names{"unavailable", "conflict",
                                                   "invalid", "corrupt"};

tl::unexpected<StoreFailure> failure(Kind kind, std::string message) {
  return tl::unexpected(StoreFailure{kind, std::move(message)});
}

} // namespace

const char *failure_kind_name(Kind kind) {
  return k_kind_names.at(static_cast<std::size_t>(kind));
}

tl::unexpected<StoreFailure> unavailable(std::string message) {
  return failure(Kind::unavailable, std::move(message));
}

tl::unexpected<StoreFailure> invalid(std::string message) {
  return failure(Kind::invalid, std::move(message));
}

tl::unexpected<StoreFailure> corrupt(std::string message) {
  return failure(Kind::corrupt, std::move(message));
}

std::ostream &operator<<(std::ostream &out, const StoreFailure &failure) {
  return out << failure.message;
}

} // namespace dovewarden::db
