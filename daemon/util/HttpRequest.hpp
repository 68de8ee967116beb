#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dovewarden::util {

// One HTTP request as a handler sees it, whatever library read it: the
// method, the path (percent-decoded) and query, the header fields, the whole
// body, and who sent it.
struct HttpRequest {
  std::string method; // "GET", "POST", ... as sent
  std::string path;   // decoded, without the query
  std::vector<std::pair<std::string, std::string>> params; // decoded query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // what the route's placeholders stood for (PathPattern); [0] is path
  std::vector<std::string> matches;
  std::string remote; // the peer's address, for log lines
  sockaddr_storage remote_address{};
  socklen_t remote_length = 0;

  // Returns the peer's port, 0 if it has none (not TCP).
  std::uint16_t remote_port() const;

  // Returns the first field called name (case-insensitive), "" if none.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // Returns the first query parameter called name, "" if none.
  std::string param(std::string_view name) const;
  bool has_param(std::string_view name) const;

  // Sets path and params from a request target ("/p%20q?a=1&b=x+y").
  // Returns false if the target is not a path.
  bool set_target(std::string_view target);
};

} // namespace dovewarden::util
