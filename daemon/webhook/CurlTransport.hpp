#pragma once

#include "util/Curl.hpp"
#include "webhook/AddressPolicy.hpp"
#include "webhook/TransferResult.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace dovewarden::webhook {

// One POST to make.
struct Post {
  std::string url;
  std::vector<std::string> headers; // "Name: value"
  std::string body;
  std::chrono::milliseconds timeout{0};
};

// Makes POSTs, many at a time, over one libcurl multi handle, on the thread
// that calls it: keeps the first response_cap bytes of each response and
// cuts off one longer than response_limit, notes its Retry-After header,
// follows no redirect, and checks every address it dials against the
// address policy before it connects (guard()). Reports each transfer that
// ended to the callback given. Not thread-safe, but for wake().
class CurlTransport {
public:
  using Id = std::uint64_t;
  using Ended = std::function<void(Id id, TransferResult result)>;

  struct Options {
    AddressPolicy address_policy;         // the SSRF guard
    std::size_t response_cap = 1024;      // response bytes kept
    std::size_t response_limit = 1 << 20; // a longer response is cut off
  };

  // Throws util::Fatal if libcurl cannot be set up.
  CurlTransport(Options options, Ended ended);
  ~CurlTransport();
  CurlTransport(const CurlTransport &) = delete;
  CurlTransport &operator=(const CurlTransport &) = delete;

  // Starts post. Returns its id. Throws util::Fatal if libcurl refuses it.
  Id send(Post post);
  // Moves the transfers on and reports those that ended. Returns how many
  // ended.
  std::size_t perform();
  // Waits until a transfer can move, wake() is called or wait has passed.
  void poll(std::chrono::milliseconds wait);
  // Makes poll() return at once. Thread-safe.
  void wake();
  // Drops every transfer in flight, unreported.
  void abort();
  std::size_t in_flight() const { return m_transfers.size(); }

private:
  struct Transfer;

  Options m_options;
  Ended m_ended;
  util::CurlMulti m_multi{nullptr, &curl_multi_cleanup};
  Id m_last = 0;
  std::unordered_map<CURL *, std::unique_ptr<Transfer>> m_transfers;
};

} // namespace dovewarden::webhook
