// The plugin's ZMTP codec and queue against a real libzmq PULL socket, the
// daemon's: it receives every message whole, multipart intact, however the
// socket takes the bytes and when a connection is lost part-way through.
#include "TestUtil.hpp"
#include "ZmtpQueue.hpp"
#include "plugin/dovewarden-zmtp-codec.h"

#include <boost/test/unit_test.hpp>
#include <zmq.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>
#include <zmq_addon.hpp>

namespace test = dovewarden::test;

namespace {

using Message = test::ZmtpMessage;
using Queue = test::ZmtpQueue;
using Clock = std::chrono::steady_clock;

// The plugin's sender reduced to the pure code: a non-blocking AF_UNIX
// socket with a small send buffer, so that most writes are partial, driven
// by poll().
class Sender {
public:
  explicit Sender(const std::string &path)
      : m_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)),
        m_reader(std::make_unique<dovewarden_zmtp_reader>()),
        m_deadline(Clock::now() + std::chrono::seconds(20)) {
    BOOST_REQUIRE(m_fd >= 0);
    const int size = 4096;
    BOOST_REQUIRE(
        ::setsockopt(m_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) == 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    BOOST_REQUIRE(path.size() < sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    BOOST_REQUIRE(::connect(m_fd, reinterpret_cast<sockaddr *>(&addr),
                            sizeof(addr)) == 0);
    dovewarden_zmtp_reader_init(m_reader.get());
  }
  ~Sender() { ::close(m_fd); }
  Sender(const Sender &) = delete;
  Sender &operator=(const Sender &) = delete;

  // Sends our greeting and READY, and reads the peer's.
  void handshake() {
    unsigned char
        bytes[DOVEWARDEN_ZMTP_GREETING_SIZE + DOVEWARDEN_ZMTP_READY_MAX_SIZE];
    dovewarden_zmtp_greeting(bytes);
    const std::size_t size =
        DOVEWARDEN_ZMTP_GREETING_SIZE +
        dovewarden_zmtp_ready(bytes + DOVEWARDEN_ZMTP_GREETING_SIZE);
    for (std::size_t done = 0; done < size;) {
      const auto n = ::write(m_fd, bytes + done, size - done);
      if (n > 0)
        done += static_cast<std::size_t>(n);
      else
        wait_for(POLLOUT);
    }
    for (;;) {
      unsigned char buf[64];
      const auto n = ::read(m_fd, buf, sizeof(buf));
      if (n < 0 && errno == EAGAIN) {
        wait_for(POLLIN);
        continue;
      }
      BOOST_REQUIRE_MESSAGE(n > 0, "the peer closed during the handshake");
      std::size_t consumed = 0;
      const auto result = dovewarden_zmtp_reader_feed(
          m_reader.get(), buf, static_cast<std::size_t>(n), &consumed);
      BOOST_REQUIRE_MESSAGE(result != DOVEWARDEN_ZMTP_READ_FAILED,
                            m_reader->error);
      if (result == DOVEWARDEN_ZMTP_READ_READY)
        return;
    }
  }

  // Writes what the queue holds, at most limit bytes of it. Returns how
  // many writes it took.
  unsigned int write(dovewarden_zmtp_queue *queue,
                     std::size_t limit = SIZE_MAX) {
    unsigned int writes = 0;
    while (limit > 0 && dovewarden_zmtp_queue_count(queue) > 0) {
      iovec iov[16];
      auto count = dovewarden_zmtp_queue_iov(queue, iov, 16);
      std::size_t total = 0;
      for (unsigned int i = 0; i < count; i++) {
        iov[i].iov_len = std::min(iov[i].iov_len, limit - total);
        total += iov[i].iov_len;
      }
      const auto n = ::writev(m_fd, iov, static_cast<int>(count));
      if (n < 0) {
        BOOST_REQUIRE_MESSAGE(errno == EAGAIN, std::strerror(errno));
        wait_for(POLLOUT);
        continue;
      }
      writes++;
      dovewarden_zmtp_queue_advance(queue, static_cast<std::size_t>(n));
      limit -= static_cast<std::size_t>(n);
    }
    return writes;
  }

private:
  void wait_for(short events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        m_deadline - Clock::now());
    BOOST_REQUIRE_MESSAGE(left.count() > 0, "the peer stopped reading");
    pollfd pfd{m_fd, events, 0};
    BOOST_REQUIRE(::poll(&pfd, 1, static_cast<int>(left.count())) >= 0);
  }

  int m_fd;
  std::unique_ptr<dovewarden_zmtp_reader> m_reader;
  Clock::time_point m_deadline;
};

// The daemon's side: a PULL socket bound to an ipc socket in a fresh
// directory.
struct Pull {
  Pull() : socket(context, zmq::socket_type::pull) {
    socket.set(zmq::sockopt::rcvtimeo, 20000);
    socket.set(zmq::sockopt::linger, 0);
    socket.bind("ipc://" + path);
  }

  Message receive() {
    std::vector<zmq::message_t> parts;
    const auto received =
        zmq::recv_multipart(socket, std::back_inserter(parts));
    BOOST_REQUIRE_MESSAGE(received.has_value(), "no message came");
    Message message;
    for (const auto &part : parts)
      message.push_back(part.to_string());
    return message;
  }

  test::TempDir dir;
  const std::string path = dir.path() + "/events";
  zmq::context_t context;
  zmq::socket_t socket;
};

// Message i: 1 to 4 frames of sizes around the short/long header boundary,
// empty ones, and now and then one larger than the socket's buffers.
Message message_number(unsigned int i) {
  Message message;
  for (unsigned int frame = 0; frame <= i % 4; frame++) {
    const std::size_t sizes[] = {0, 1, 255, 256, 1000, 200000};
    const std::size_t size = sizes[(i * 7 + frame) % 6];
    message.push_back(std::string(size, static_cast<char>('a' + i % 26)));
    if (!message.back().empty())
      message.back()[0] = static_cast<char>(frame);
  }
  return message;
}

std::string describe(const Message &message) {
  std::string text;
  for (const auto &frame : message)
    text += std::to_string(frame.size()) + " ";
  return text;
}

} // namespace

BOOST_AUTO_TEST_SUITE(zmtp_peer)

BOOST_AUTO_TEST_CASE(libzmq_pull_receives_every_message_whole) {
  Pull pull;
  Queue queue(1000);
  const unsigned int count = 120;
  for (unsigned int i = 0; i < count; i++)
    queue.add(message_number(i));
  Sender sender(pull.path);
  sender.handshake();
  const auto writes = sender.write(queue.get());
  // the socket took the bytes piecemeal, cutting frames and headers
  BOOST_TEST(writes > count);
  for (unsigned int i = 0; i < count; i++) {
    const auto expected = message_number(i);
    const auto received = pull.receive();
    BOOST_TEST_CONTEXT("message " << i << ": " << describe(expected)) {
      BOOST_REQUIRE(received == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_message_cut_by_a_lost_connection_arrives_once_whole) {
  Pull pull;
  const Message cut{"first frame", std::string(3000, 'x'), "last frame"};
  const Message next{"next"};
  const Message marker{"marker"};
  // header of the first frame, its body, the long header, the long body,
  // and the last byte of all
  for (const std::size_t written : {1, 5, 14, 16, 1000, 3033}) {
    BOOST_TEST_CONTEXT("connection lost after " << written << " bytes") {
      Queue queue(10);
      queue.add(cut);
      queue.add(next);
      {
        Sender lost(pull.path);
        lost.handshake();
        lost.write(queue.get(), written);
        BOOST_REQUIRE(queue.count() == 2u);
      }
      dovewarden_zmtp_queue_rewind(queue.get());
      queue.add(marker);
      Sender again(pull.path);
      again.handshake();
      again.write(queue.get());
      BOOST_TEST(pull.receive() == cut);
      BOOST_TEST(pull.receive() == next);
      BOOST_TEST(pull.receive() == marker);
    }
  }
  // nothing came twice, nor in part
  std::vector<zmq::message_t> parts;
  BOOST_TEST(!zmq::recv_multipart(pull.socket, std::back_inserter(parts),
                                  zmq::recv_flags::dontwait));
}

BOOST_AUTO_TEST_SUITE_END()
