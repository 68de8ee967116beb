// The plugin's queue of ZeroMQ messages (plugin/dovewarden-zmtp-queue.h)
// for the tests: made and freed with its scope, messages added whole.
#pragma once

#include "plugin/dovewarden-zmtp-queue.h"

#include <boost/test/unit_test.hpp>

#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dovewarden::test {

// A ZeroMQ message: its frames.
using ZmtpMessage = std::vector<std::string>;

class ZmtpQueue {
public:
  explicit ZmtpQueue(unsigned int limit)
      : m_queue(dovewarden_zmtp_queue_create(limit)) {
    BOOST_REQUIRE(m_queue != nullptr);
  }
  ~ZmtpQueue() { dovewarden_zmtp_queue_destroy(&m_queue); }
  ZmtpQueue(const ZmtpQueue &) = delete;
  ZmtpQueue &operator=(const ZmtpQueue &) = delete;

  void add(const ZmtpMessage &message) {
    for (const auto &frame : message)
      BOOST_REQUIRE(dovewarden_zmtp_queue_add_frame(
          m_queue, reinterpret_cast<const unsigned char *>(frame.data()),
          frame.size()));
    dovewarden_zmtp_queue_close(m_queue);
  }

  // Everything iov() offers now, in order, at most max entries of it.
  std::string waiting(unsigned int max = 64) const {
    std::vector<iovec> iov(max);
    const auto n = dovewarden_zmtp_queue_iov(m_queue, iov.data(), max);
    std::string bytes;
    for (unsigned int i = 0; i < n; i++)
      bytes.append(static_cast<const char *>(iov[i].iov_base), iov[i].iov_len);
    return bytes;
  }

  // Writes what waits, as a socket that takes everything would.
  std::string write_all() {
    std::string bytes;
    while (count() > 0) {
      const auto chunk = waiting();
      dovewarden_zmtp_queue_advance(m_queue, chunk.size());
      bytes += chunk;
    }
    return bytes;
  }

  unsigned int count() const { return dovewarden_zmtp_queue_count(m_queue); }
  std::uint64_t dropped() const {
    return dovewarden_zmtp_queue_dropped(m_queue);
  }
  dovewarden_zmtp_queue *get() { return m_queue; }

private:
  dovewarden_zmtp_queue *m_queue;
};

} // namespace dovewarden::test
