#include "TestUtil.hpp"
#include "sinks/JsonLine.hpp"

#include <boost/test/unit_test.hpp>
#include <msgpack.hpp>

#include <cstdint>
#include <sstream>
#include <string>

using namespace dovewarden;
using test::vector_event;

BOOST_AUTO_TEST_SUITE(json_line)

BOOST_AUTO_TEST_CASE(test_vector_line_is_exactly_as_documented) {
  BOOST_TEST(sinks::to_json_line(vector_event()) == test::vector_json());
}

BOOST_AUTO_TEST_CASE(daemon_events_have_the_same_shape) {
  auto event = core::Event::internal("events.lost");
  event.message.fields.clear();
  event.message.set("host", std::string("mx1"));
  event.message.set("lost", std::uint64_t{3});
  event.message.set("neg", std::int64_t{-2});
  event.message.set("ok", true);
  event.message.set("nothing", nullptr);
  event.message.set("ratio", 0.25);
  BOOST_TEST(
      sinks::to_json_line(event) ==
      R"({"type":"events.lost","host":"mx1","lost":3,"neg":-2,"ok":true,"nothing":null,"ratio":0.25})");
}

BOOST_AUTO_TEST_CASE(the_sender_is_the_kernels_word_never_a_fields) {
  auto event = core::Event::internal("message.new");
  event.message.fields.clear();
  event.message.set("user", std::string("alice"));
  event.message.set("sender", std::string("forged"));
  BOOST_TEST(sinks::to_json_line(event) ==
             R"({"type":"message.new","user":"alice"})");
  event.sender = core::Sender{5000, 5000, 4300};
  BOOST_TEST(
      sinks::to_json_line(event) ==
      R"({"type":"message.new","user":"alice","sender":{"uid":5000,"pid":4300}})");
}

BOOST_AUTO_TEST_CASE(nested_values_render_as_json) {
  std::stringstream nested;
  msgpack::packer<std::stringstream> packer(nested);
  packer.pack_map(2);
  packer.pack(std::string("a"));
  packer.pack_array(2);
  packer.pack(1);
  packer.pack(std::string("x"));
  packer.pack(std::string("b"));
  packer.pack_map(0);
  std::stringstream bad; // JSON keys must be strings
  msgpack::packer<std::stringstream> bad_packer(bad);
  bad_packer.pack_map(1);
  bad_packer.pack(1);
  bad_packer.pack(2);

  core::Event event;
  event.message.type = "custom";
  event.message.set("nested", wire::Packed{nested.str()});
  event.message.set("bad", wire::Packed{bad.str()});
  event.message.set("text", std::string("quote\" back\\ nl\n bad\xff"));
  BOOST_TEST(
      sinks::to_json_line(event) ==
      "{\"type\":\"custom\",\"nested\":{\"a\":[1,\"x\"],\"b\":{}},"
      "\"bad\":null,\"text\":\"quote\\\" back\\\\ nl\\n bad\xef\xbf\xbd\"}");
}

BOOST_AUTO_TEST_SUITE_END()
