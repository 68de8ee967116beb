#pragma once

#include "util/Sha256.hpp"

#include <tl/expected.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace dovewarden::util {

// A secret that clients present as "Authorization: Bearer <token>". Only its
// SHA-256 digest is kept, so the token itself cannot end up in a log line or
// a core dump of this object.
class BearerToken {
public:
  explicit BearerToken(std::string_view token);

  // Returns the credentials of an Authorization header of the Bearer scheme,
  // its name in any case (RFC 7235), or nothing if it is of another scheme.
  static std::optional<std::string_view>
  from_header(std::string_view authorization);

  // Reads a token file: its first line, without surrounding white space.
  // Returns an error text naming path if it cannot be read or is empty.
  static tl::expected<std::string, std::string>
  read_file(const std::string &path);

  // Returns true if presented is the token. Takes the same time whatever
  // the presented text shares with the token.
  bool verify(std::string_view presented) const;

private:
  util::Sha256Digest m_digest;
};

} // namespace dovewarden::util
