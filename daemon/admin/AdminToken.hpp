#pragma once

#include "util/BearerToken.hpp"

#include <tl/expected.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace dovewarden::admin {

// The bearer token of the admin API. Only its SHA-256 digest is kept, so the
// token itself cannot end up in a log line or a core dump of this object.
class AdminToken {
public:
  static constexpr const char *k_token_env = "DOVEWARDEN_ADMIN_TOKEN";
  static constexpr const char *k_token_file_env = "DOVEWARDEN_ADMIN_TOKEN_FILE";
  static constexpr const char *k_file_name = "admin.token";

  explicit AdminToken(std::string_view token, std::string origin = "");

  // Takes token (DOVEWARDEN_ADMIN_TOKEN) if given, else the token in
  // token_file (DOVEWARDEN_ADMIN_TOKEN_FILE) if given, else the one in
  // store_dir/admin.token, which is created (mode 0600, a random token) if it
  // does not exist; "" is not given. Returns an error text naming the
  // setting or the file if it cannot be read or created, or if the token is
  // only white space.
  static tl::expected<AdminToken, std::string>
  load(const std::string &token, const std::string &token_file,
       const std::string &store_dir);

  // Reads a token file: its first line, without surrounding white space.
  // Returns an error text naming path if it cannot be read or is empty.
  static tl::expected<std::string, std::string>
  read_file(const std::string &path) {
    return util::BearerToken::read_file(path);
  }

  // Returns 32 random bytes (OpenSSL RAND_bytes) as 64 hex digits. Throws
  // util::Fatal if the random generator fails.
  static std::string generate();

  // Returns true if presented is the token. Takes the same time whatever
  // the presented text shares with the token.
  bool verify(std::string_view presented) const {
    return m_token.verify(presented);
  }

  // Returns where the token came from, for the start-up log line: the
  // variable's or the file's name, never the token.
  const std::string &origin() const { return m_origin; }
  // Returns true if load() created the token file just now.
  bool generated() const { return m_generated; }

private:
  util::BearerToken m_token;
  std::string m_origin;
  bool m_generated = false;
};

} // namespace dovewarden::admin
