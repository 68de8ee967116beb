// The plugin's queue of ZeroMQ messages: bounded in messages, and each
// message reaches the peer whole or not at all, however the socket takes
// its bytes and wherever the connection is lost.
#include "TestUtil.hpp"
#include "ZmtpQueue.hpp"
#include "plugin/dovewarden-zmtp-codec.h"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using dovewarden::test::from_hex;
namespace test = dovewarden::test;

namespace {

using Message = test::ZmtpMessage;
using Queue = test::ZmtpQueue;

// A message as ZMTP frames it: MORE on all frames but the last.
std::string framed(const Message &message) {
  std::string bytes;
  for (std::size_t i = 0; i < message.size(); i++) {
    unsigned char header[DOVEWARDEN_ZMTP_FRAME_HEADER_MAX_SIZE];
    const auto size = dovewarden_zmtp_frame_header(header, message[i].size(),
                                                   i + 1 < message.size());
    bytes.append(reinterpret_cast<const char *>(header), size);
    bytes += message[i];
  }
  return bytes;
}

// Messages of one, three and two frames, short and long.
const std::vector<Message> k_messages{
    {"first"},
    {"a", std::string(300, 'b'), ""},
    {std::string(255, 'c'), std::string(256, 'd')}};

} // namespace

BOOST_AUTO_TEST_SUITE(zmtp_queue)

BOOST_AUTO_TEST_CASE(frames_of_a_message_carry_more_but_its_last) {
  Queue queue(10);
  queue.add({"one", "two", "three"});
  BOOST_TEST(queue.write_all() == from_hex("01 03") + "one" +
                                      from_hex("01 03") + "two" +
                                      from_hex("00 05") + "three");
}

BOOST_AUTO_TEST_CASE(messages_go_in_order) {
  Queue queue(10);
  std::string expected;
  for (const auto &message : k_messages) {
    queue.add(message);
    expected += framed(message);
  }
  BOOST_TEST(queue.count() == 3u);
  BOOST_TEST(queue.write_all() == expected);
  BOOST_TEST(queue.count() == 0u);
  BOOST_TEST(queue.waiting().empty());
}

// a written or dropped message's memory is built in again: nothing of
// the one before (its frames, its MORE flags, its length) may show
BOOST_AUTO_TEST_CASE(a_message_built_after_one_written_or_dropped_is_its_own) {
  Queue queue(1);
  queue.add({"first", "of", "three"});
  BOOST_TEST(queue.write_all() == framed({"first", "of", "three"}));
  queue.add({"x"});
  BOOST_TEST(queue.write_all() == framed({"x"}));
  queue.add({"kept"});
  queue.add({"dropped", "whole"});
  BOOST_TEST(queue.dropped() == 2u);
  queue.add({std::string(2000, 'b')});
  BOOST_TEST(queue.dropped() == 3u);
  BOOST_TEST(queue.write_all() == framed({"kept"}));
  for (const auto &message : k_messages) {
    queue.add(message);
    BOOST_TEST(queue.write_all() == framed(message));
  }
  // grown past its first size, the memory is kept too
  const Message grown{std::string(5000, 'g'), "h"};
  queue.add(grown);
  BOOST_TEST(queue.write_all() == framed(grown));
  queue.add({"y"});
  BOOST_TEST(queue.write_all() == framed({"y"}));
  queue.add(grown);
  BOOST_TEST(queue.write_all() == framed(grown));
}

BOOST_AUTO_TEST_CASE(open_message_waits_until_closed) {
  Queue queue(10);
  const std::string frame = "event";
  auto *q = queue.get();
  dovewarden_zmtp_queue_add_frame(
      q, reinterpret_cast<const unsigned char *>(frame.data()), frame.size());
  dovewarden_zmtp_queue_add_frame(
      q, reinterpret_cast<const unsigned char *>(frame.data()), frame.size());
  BOOST_TEST(dovewarden_zmtp_queue_open_frames(q) == 2u);
  BOOST_TEST(queue.count() == 0u);
  BOOST_TEST(queue.waiting().empty());
  dovewarden_zmtp_queue_close(q);
  BOOST_TEST(dovewarden_zmtp_queue_open_frames(q) == 0u);
  BOOST_TEST(queue.count() == 1u);
  BOOST_TEST(queue.waiting() == framed({frame, frame}));
  // nothing open: nothing to close
  dovewarden_zmtp_queue_close(q);
  BOOST_TEST(queue.count() == 1u);
}

BOOST_AUTO_TEST_CASE(a_message_a_frame_of_which_failed_is_dropped_whole) {
  Queue queue(10);
  auto *q = queue.get();
  const unsigned char byte = 'x';
  BOOST_TEST(dovewarden_zmtp_queue_add_frame(q, &byte, 1));
  // more than any memory: no byte of it is read
  BOOST_TEST(!dovewarden_zmtp_queue_add_frame(q, &byte, SIZE_MAX / 2));
  BOOST_TEST(!dovewarden_zmtp_queue_add_frame(q, &byte, 1));
  BOOST_TEST(dovewarden_zmtp_queue_open_frames(q) == 3u);
  dovewarden_zmtp_queue_close(q);
  BOOST_TEST(queue.count() == 0u);
  BOOST_TEST(queue.dropped() == 3u);
  queue.add({"next"});
  BOOST_TEST(queue.write_all() == framed({"next"}));
}

BOOST_AUTO_TEST_CASE(a_full_queue_drops_whole_messages_and_counts_frames) {
  Queue queue(2);
  queue.add({"1"});
  queue.add({"2", "2"});
  queue.add({"3", "3", "3"});
  queue.add({"4"});
  BOOST_TEST(queue.count() == 2u);
  BOOST_TEST(queue.dropped() == 4u);
  BOOST_TEST(queue.write_all() == framed({"1"}) + framed({"2", "2"}));
  // room again
  queue.add({"5"});
  BOOST_TEST(queue.write_all() == framed({"5"}));
  BOOST_TEST(queue.dropped() == 4u);
}

BOOST_AUTO_TEST_CASE(a_message_written_in_part_holds_its_place) {
  Queue queue(1);
  queue.add({"first"});
  dovewarden_zmtp_queue_advance(queue.get(), 3);
  queue.add({"second"});
  BOOST_TEST(queue.count() == 1u);
  BOOST_TEST(queue.dropped() == 1u);
  dovewarden_zmtp_queue_advance(queue.get(), framed({"first"}).size() - 3);
  BOOST_TEST(queue.count() == 0u);
}

BOOST_AUTO_TEST_CASE(iov_offers_at_most_max_entries) {
  Queue queue(10);
  for (const auto &message : k_messages)
    queue.add(message);
  BOOST_TEST(queue.waiting(2) == framed(k_messages[0]) + framed(k_messages[1]));
  BOOST_TEST(dovewarden_zmtp_queue_iov(queue.get(), nullptr, 0) == 0u);
}

BOOST_AUTO_TEST_CASE(a_lost_connection_sends_whole_messages_at_every_offset) {
  std::string all;
  std::vector<std::size_t> ends; // where each message's bytes end
  for (const auto &message : k_messages) {
    all += framed(message);
    ends.push_back(all.size());
  }
  for (std::size_t written = 0; written <= all.size(); written++) {
    BOOST_TEST_CONTEXT("connection lost after " << written << " bytes") {
      Queue queue(10);
      for (const auto &message : k_messages)
        queue.add(message);
      dovewarden_zmtp_queue_advance(queue.get(), written);
      // the socket's next write starts where this one stopped
      BOOST_REQUIRE(queue.waiting() == all.substr(written));
      dovewarden_zmtp_queue_rewind(queue.get());
      // the new connection gets the first message not written whole, from
      // its start, and all after it: no part, no message twice
      std::size_t complete = 0;
      while (complete < ends.size() && ends[complete] <= written)
        complete++;
      const std::size_t from = complete == 0 ? 0 : ends[complete - 1];
      BOOST_REQUIRE(queue.count() == ends.size() - complete);
      BOOST_REQUIRE(queue.write_all() == all.substr(from));
      BOOST_REQUIRE(queue.dropped() == 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE(writes_of_every_size_deliver_the_bytes_in_order) {
  std::string all;
  for (const auto &message : k_messages)
    all += framed(message);
  for (std::size_t step = 1; step <= all.size(); step++) {
    BOOST_TEST_CONTEXT("writes of " << step << " bytes") {
      Queue queue(10);
      for (const auto &message : k_messages)
        queue.add(message);
      std::string sent;
      while (queue.count() > 0) {
        const auto chunk = queue.waiting().substr(0, step);
        dovewarden_zmtp_queue_advance(queue.get(), chunk.size());
        sent += chunk;
      }
      BOOST_REQUIRE(sent == all);
    }
  }
}

BOOST_AUTO_TEST_CASE(drop_all_counts_the_frames_of_every_waiting_message) {
  Queue queue(10);
  for (const auto &message : k_messages)
    queue.add(message);
  // the one written in part, too: the peer never saw it whole
  dovewarden_zmtp_queue_advance(queue.get(), 1);
  dovewarden_zmtp_queue_drop_all(queue.get());
  BOOST_TEST(queue.count() == 0u);
  BOOST_TEST(queue.dropped() == 6u);
  BOOST_TEST(queue.waiting().empty());
  queue.add({"after"});
  BOOST_TEST(queue.write_all() == framed({"after"}));
}

BOOST_AUTO_TEST_SUITE_END()
