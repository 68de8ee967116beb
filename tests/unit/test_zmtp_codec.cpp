// ZMTP 3.0 as the plugin speaks it (ZeroMQ RFC 23): the bytes it sends, and
// its reader of what a PULL peer answers, whatever the peer and however
// its bytes arrive.
#include "TestUtil.hpp"
#include "plugin/dovewarden-zmtp-codec.h"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <memory>
#include <string>

using dovewarden::test::from_hex;

namespace {

// What libzmq 4.3.4's PULL socket (pyzmq 24, Debian 12) sent when bound to
// an ipc socket: a raw AF_UNIX client wrote this plugin's greeting and
// READY, and recorded every byte that came back. The greeting says ZMTP
// 3.1, NULL, not as-server; the READY says Socket-Type PULL.
const std::string k_libzmq_pull_greeting =
    from_hex("ff00000000000000017f 0301"
             "4e554c4c00000000000000000000000000000000"
             "00"
             "00000000000000000000000000000000000000000000000000000000000000");
const std::string k_libzmq_pull_ready =
    from_hex("041a 05 5245414459 0b 536f636b65742d54797065 00000004 50554c4c");

std::string greeting(unsigned char major, unsigned char minor,
                     const std::string &mechanism) {
  std::string bytes = k_libzmq_pull_greeting;
  bytes[10] = static_cast<char>(major);
  bytes[11] = static_cast<char>(minor);
  bytes.replace(12, 20, std::string(20, '\0'));
  bytes.replace(12, mechanism.size(), mechanism);
  return bytes;
}

std::string be32(std::size_t value) {
  std::string bytes(4, '\0');
  for (int i = 0; i < 4; i++)
    bytes[3 - i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

// A command frame of name and body, short or long as its size needs.
std::string command(const std::string &name, const std::string &body) {
  const std::string content =
      std::string(1, static_cast<char>(name.size())) + name + body;
  if (content.size() <= 255)
    return std::string(1, '\x04') +
           std::string(1, static_cast<char>(content.size())) + content;
  std::string size(8, '\0');
  for (int i = 0; i < 8; i++)
    size[7 - i] = static_cast<char>(content.size() >> (8 * i));
  return "\x06" + size + content;
}

std::string property(const std::string &name, const std::string &value) {
  return std::string(1, static_cast<char>(name.size())) + name +
         be32(value.size()) + value;
}

// The reader is 4 KiB: on the heap, like the plugin's.
struct Reader {
  Reader() : reader(std::make_unique<dovewarden_zmtp_reader>()) {
    dovewarden_zmtp_reader_init(reader.get());
  }

  // Feeds bytes in one call. Returns its result; consumed is what it took.
  dovewarden_zmtp_read_result feed(const std::string &bytes) {
    consumed = 0;
    return dovewarden_zmtp_reader_feed(
        reader.get(), reinterpret_cast<const unsigned char *>(bytes.data()),
        bytes.size(), &consumed);
  }
  std::string error() const { return reader->error; }

  std::unique_ptr<dovewarden_zmtp_reader> reader;
  std::size_t consumed = 0;
};

// The result of feeding bytes whole.
dovewarden_zmtp_read_result read_all(const std::string &bytes,
                                     std::string *error = nullptr) {
  Reader reader;
  const auto result = reader.feed(bytes);
  if (error != nullptr)
    *error = reader.error();
  return result;
}

std::string failure_of(const std::string &bytes) {
  std::string error;
  BOOST_TEST(read_all(bytes, &error) == DOVEWARDEN_ZMTP_READ_FAILED);
  return error;
}

std::string as_string(const unsigned char *data, std::size_t size) {
  return std::string(reinterpret_cast<const char *>(data), size);
}

} // namespace

BOOST_AUTO_TEST_SUITE(zmtp_codec)

BOOST_AUTO_TEST_CASE(greeting_is_zmtp_3_0_null_as_client) {
  unsigned char out[DOVEWARDEN_ZMTP_GREETING_SIZE];
  dovewarden_zmtp_greeting(out);
  // RFC 23: signature FF, padding, 7F; version 3.0; mechanism "NULL" padded
  // to 20 octets; as-server 0; 31 octets of filler
  const std::string expected = from_hex("ff 0000000000000000 7f 03 00") +
                               "NULL" + std::string(16, '\0') +
                               std::string(1, '\0') + std::string(31, '\0');
  BOOST_TEST(as_string(out, sizeof(out)) == expected);
}

BOOST_AUTO_TEST_CASE(ready_announces_a_push_socket) {
  unsigned char out[DOVEWARDEN_ZMTP_READY_MAX_SIZE];
  const auto size = dovewarden_zmtp_ready(out);
  // a short command frame: 26 bytes, "READY", Socket-Type = PUSH
  BOOST_TEST(as_string(out, size) == from_hex("04 1a 05") + "READY" +
                                         from_hex("0b") + "Socket-Type" +
                                         from_hex("00000004") + "PUSH");
}

BOOST_AUTO_TEST_CASE(frame_headers_are_short_up_to_255_bytes) {
  unsigned char out[DOVEWARDEN_ZMTP_FRAME_HEADER_MAX_SIZE];
  BOOST_TEST(dovewarden_zmtp_frame_header(out, 0, false) == 2u);
  BOOST_TEST(as_string(out, 2) == from_hex("00 00"));
  BOOST_TEST(dovewarden_zmtp_frame_header(out, 255, false) == 2u);
  BOOST_TEST(as_string(out, 2) == from_hex("00 ff"));
  BOOST_TEST(dovewarden_zmtp_frame_header(out, 255, true) == 2u);
  BOOST_TEST(as_string(out, 2) == from_hex("01 ff"));
}

BOOST_AUTO_TEST_CASE(frame_headers_are_long_from_256_bytes) {
  unsigned char out[DOVEWARDEN_ZMTP_FRAME_HEADER_MAX_SIZE];
  BOOST_TEST(dovewarden_zmtp_frame_header(out, 256, false) == 9u);
  BOOST_TEST(as_string(out, 9) == from_hex("02 0000000000000100"));
  BOOST_TEST(dovewarden_zmtp_frame_header(out, 0x0102030405060708, true) == 9u);
  BOOST_TEST(as_string(out, 9) == from_hex("03 0102030405060708"));
}

BOOST_AUTO_TEST_CASE(libzmq_pull_is_accepted_however_its_bytes_are_split) {
  // and a message frame behind READY, which READY's call leaves unread
  const std::string handshake = k_libzmq_pull_greeting + k_libzmq_pull_ready;
  const std::string bytes = handshake + from_hex("00 03") + "abc";
  for (std::size_t first = 0; first <= bytes.size(); first++) {
    for (std::size_t second = first; second <= bytes.size(); second++) {
      BOOST_TEST_CONTEXT("split at " << first << " and " << second) {
        Reader reader;
        const std::string parts[] = {bytes.substr(0, first),
                                     bytes.substr(first, second - first),
                                     bytes.substr(second)};
        std::size_t fed = 0;
        int readies = 0;
        for (const auto &part : parts) {
          std::size_t done = 0;
          while (done < part.size()) {
            const auto result = reader.feed(part.substr(done));
            BOOST_REQUIRE(result != DOVEWARDEN_ZMTP_READ_FAILED);
            done += reader.consumed;
            fed += reader.consumed;
            if (result == DOVEWARDEN_ZMTP_READ_READY) {
              readies++;
              BOOST_REQUIRE(fed == handshake.size());
            } else {
              BOOST_REQUIRE(done == part.size());
            }
          }
        }
        BOOST_REQUIRE(readies == 1);
        BOOST_REQUIRE(fed == bytes.size());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(libzmq_pull_is_accepted_byte_by_byte) {
  const std::string bytes = k_libzmq_pull_greeting + k_libzmq_pull_ready;
  Reader reader;
  for (std::size_t i = 0; i + 1 < bytes.size(); i++) {
    BOOST_REQUIRE(reader.feed(bytes.substr(i, 1)) == DOVEWARDEN_ZMTP_READ_MORE);
    BOOST_REQUIRE(reader.consumed == 1u);
  }
  BOOST_TEST(reader.feed(bytes.substr(bytes.size() - 1)) ==
             DOVEWARDEN_ZMTP_READ_READY);
  BOOST_TEST(reader.consumed == 1u);
}

BOOST_AUTO_TEST_CASE(zmtp_3_0_and_later_peers_are_accepted) {
  for (const auto &[major, minor] :
       {std::pair{3, 0}, std::pair{3, 1}, std::pair{3, 9}, std::pair{4, 0}}) {
    BOOST_TEST_CONTEXT("ZMTP " << major << "." << minor) {
      BOOST_TEST(read_all(greeting(major, minor, "NULL") +
                          k_libzmq_pull_ready) == DOVEWARDEN_ZMTP_READ_READY);
    }
  }
}

BOOST_AUTO_TEST_CASE(other_properties_are_passed_over) {
  const std::string ready = command(
      "READY",
      property("Identity", "") + property("X-Custom", std::string(300, 'x')) +
          property("socket-type", "pull") + property("Resource", "/events"));
  BOOST_TEST(read_all(k_libzmq_pull_greeting + ready) ==
             DOVEWARDEN_ZMTP_READ_READY);
}

BOOST_AUTO_TEST_CASE(a_command_of_the_largest_size_is_read) {
  const std::string socket_type = property("Socket-Type", "PULL");
  const std::size_t padding =
      DOVEWARDEN_ZMTP_MAX_COMMAND_SIZE - 6 - socket_type.size() - 6;
  const std::string ready =
      command("READY", socket_type + property("X", std::string(padding, 'x')));
  BOOST_REQUIRE(ready.size() == 9u + DOVEWARDEN_ZMTP_MAX_COMMAND_SIZE);
  BOOST_TEST(read_all(k_libzmq_pull_greeting + ready) ==
             DOVEWARDEN_ZMTP_READ_READY);
}

BOOST_AUTO_TEST_CASE(a_larger_command_fails) {
  const std::string ready =
      command("READY", property("Socket-Type", "PULL") +
                           property("X", std::string(4096, 'x')));
  // only its header is needed to know
  BOOST_TEST(failure_of(k_libzmq_pull_greeting + ready.substr(0, 9)) ==
             "peer sent a command of 4128 bytes, at most 4096 expected");
}

BOOST_AUTO_TEST_CASE(an_error_command_fails_with_its_printable_reason) {
  const std::string error = command("ERROR", "\x19"
                                             "Access denied\x01\x7f by policy");
  BOOST_TEST(failure_of(k_libzmq_pull_greeting + error) ==
             "peer refused: Access denied?? by policy");
}

BOOST_AUTO_TEST_CASE(a_socket_other_than_pull_fails) {
  const std::string ready = command("READY", property("Socket-Type", "PUB"));
  BOOST_TEST(failure_of(k_libzmq_pull_greeting + ready) ==
             "peer is a PUB socket, PULL needed");
}

BOOST_AUTO_TEST_CASE(a_ready_without_socket_type_fails) {
  const std::string ready = command("READY", property("Identity", "x"));
  BOOST_TEST(failure_of(k_libzmq_pull_greeting + ready) ==
             "peer sent no Socket-Type in READY");
}

BOOST_AUTO_TEST_CASE(a_property_past_the_command_fails) {
  std::string ready = command("READY", property("Socket-Type", "PULL"));
  ready[ready.size() - 5] = '\x05'; // the value's size, one past the end
  BOOST_TEST(failure_of(k_libzmq_pull_greeting + ready) ==
             "peer sent a malformed READY");
  // a name's size past the end
  BOOST_TEST(
      failure_of(k_libzmq_pull_greeting + command("READY", "\x0bSocket")) ==
      "peer sent a malformed READY");
  // a name that ends the command, without its value's size
  BOOST_TEST(failure_of(k_libzmq_pull_greeting +
                        command("READY", "\x0bSocket-Type")) ==
             "peer sent a malformed READY");
}

BOOST_AUTO_TEST_CASE(a_command_named_past_its_end_fails) {
  BOOST_TEST(failure_of(k_libzmq_pull_greeting + from_hex("04 03 05") + "RE") ==
             "peer sent a malformed command");
  BOOST_TEST(failure_of(k_libzmq_pull_greeting + from_hex("04 00")) ==
             "peer sent a malformed command");
}

BOOST_AUTO_TEST_CASE(the_curve_mechanism_fails_and_says_what_to_set) {
  // the greeting up to its mechanism is enough
  const auto error = failure_of(greeting(3, 0, "CURVE").substr(0, 32));
  BOOST_TEST(error.find("peer uses CURVE") == 0u);
  BOOST_TEST(error.find("dovewarden_curve_server_key") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(another_mechanism_fails) {
  BOOST_TEST(failure_of(greeting(3, 0, "PLAIN")) ==
             "peer uses the mechanism PLAIN, NULL needed");
  BOOST_TEST(failure_of(greeting(3, 0, "NULL\x01")) ==
             "peer uses the mechanism NULL?, NULL needed");
}

BOOST_AUTO_TEST_CASE(a_zmtp_2_0_peer_fails_at_its_revision) {
  // ZMTP 2.0 (libzmq 3.x): signature, revision 01, socket type 07 (PULL),
  // then an identity frame; it waits for ours before sending more
  const std::string zmtp20 = from_hex("ff 0000000000000001 7f 01 07 00 00");
  Reader reader;
  BOOST_TEST(reader.feed(zmtp20.substr(0, 10)) == DOVEWARDEN_ZMTP_READ_MORE);
  BOOST_TEST(reader.feed(zmtp20.substr(10)) == DOVEWARDEN_ZMTP_READ_FAILED);
  BOOST_TEST(reader.error() == "peer speaks ZMTP 1.0/2.0, 3.x needed");
}

BOOST_AUTO_TEST_CASE(a_zmtp_1_0_peer_fails) {
  // ZMTP 1.0 has no signature: an identity frame comes first
  BOOST_TEST(failure_of(from_hex("01 00")) == "not a ZMTP peer");
  // or one that only looks like it, without bit 0 of byte 9
  BOOST_TEST(failure_of(from_hex("ff 0000000000000000 7e")) ==
             "not a ZMTP peer");
}

BOOST_AUTO_TEST_CASE(garbage_fails_at_its_first_byte) {
  // an HTTP server, say, which would wait for a request
  Reader reader;
  BOOST_TEST(reader.feed("H") == DOVEWARDEN_ZMTP_READ_FAILED);
  BOOST_TEST(reader.error() == "not a ZMTP peer");
}

BOOST_AUTO_TEST_CASE(a_message_before_ready_fails) {
  BOOST_TEST(failure_of(k_libzmq_pull_greeting + from_hex("00 03") + "abc") ==
             "peer sent a message before READY");
}

BOOST_AUTO_TEST_CASE(another_command_before_ready_fails) {
  BOOST_TEST(failure_of(k_libzmq_pull_greeting +
                        command("PING", from_hex("0000") + "x")) ==
             "peer sent the command PING before READY");
}

BOOST_AUTO_TEST_CASE(failure_is_final) {
  Reader reader;
  BOOST_TEST(reader.feed("x") == DOVEWARDEN_ZMTP_READ_FAILED);
  BOOST_TEST(reader.feed(k_libzmq_pull_greeting + k_libzmq_pull_ready) ==
             DOVEWARDEN_ZMTP_READ_FAILED);
  BOOST_TEST(reader.consumed == 0u);
  BOOST_TEST(reader.error() == "not a ZMTP peer");
}

BOOST_AUTO_TEST_CASE(frames_after_ready_are_read_over) {
  Reader reader;
  BOOST_REQUIRE(reader.feed(k_libzmq_pull_greeting + k_libzmq_pull_ready) ==
                DOVEWARDEN_ZMTP_READ_READY);
  // a PING, an empty message, a long message, and a frame that claims
  // more than any memory: nothing of them is kept
  const std::string after =
      command("PING", from_hex("0000") + "x") + from_hex("00 00") +
      from_hex("03 0000000000000100") + std::string(256, 'y') +
      from_hex("02 0000010000000000") + std::string(1000, 'z');
  for (std::size_t i = 0; i < after.size(); i++) {
    BOOST_REQUIRE(reader.feed(after.substr(i, 1)) == DOVEWARDEN_ZMTP_READ_MORE);
    BOOST_REQUIRE(reader.consumed == 1u);
  }
  BOOST_TEST(reader.feed(std::string(100000, 'w')) ==
             DOVEWARDEN_ZMTP_READ_MORE);
  BOOST_TEST(reader.consumed == 100000u);
}

BOOST_AUTO_TEST_SUITE_END()
