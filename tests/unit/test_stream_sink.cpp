#include "TestUtil.hpp"
#include "sinks/JsonLine.hpp"
#include "sinks/StreamSink.hpp"

#include <boost/test/unit_test.hpp>
#include <msgpack.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace dovewarden;
using namespace std::chrono_literals;

using dovewarden::test::free_port;
using dovewarden::test::ok;
using dovewarden::test::read_file;

namespace {

core::Event vector_event() {
  auto decoded = wire::decode(test::vector_bytes());
  BOOST_REQUIRE(decoded);
  return core::Event{std::move(*decoded), "zmq",
                     std::chrono::system_clock::now()};
}

// A path in a fresh directory, both removed when the test ends.
class TempPath {
public:
  TempPath() {
    char name[] = "/tmp/dovewarden-test-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(name) != nullptr);
    m_directory = name;
    m_path = m_directory + "/stream.jsonl";
  }
  ~TempPath() {
    std::remove(m_path.c_str());
    ::rmdir(m_directory.c_str());
  }
  const std::string &path() const { return m_path; }

private:
  std::string m_directory;
  std::string m_path;
};

} // namespace

BOOST_AUTO_TEST_SUITE(stream_sink)

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

BOOST_AUTO_TEST_CASE(lines_are_batched_until_a_flush) {
  TempPath path;
  auto sink = sinks::StreamSink::open({path.path(), 200ms, 1 << 20});
  BOOST_REQUIRE(sink);
  BOOST_TEST((*sink)->flush_interval().count() == 200);
  (*sink)->handle(vector_event());
  (*sink)->handle(vector_event());
  BOOST_TEST(read_file(path.path()).empty());
  (*sink)->flush();
  const std::string line = test::vector_json() + "\n";
  BOOST_TEST(read_file(path.path()) == line + line);
  (*sink)->handle(vector_event());
  (*sink)->stop();
  BOOST_TEST(read_file(path.path()) == line + line + line);
}

BOOST_AUTO_TEST_CASE(a_full_batch_is_written_at_once) {
  TempPath path;
  auto sink = sinks::StreamSink::open({path.path(), 1h, 100});
  BOOST_REQUIRE(sink);
  (*sink)->handle(vector_event()); // one line is over 100 bytes
  BOOST_TEST(read_file(path.path()) == test::vector_json() + "\n");
}

BOOST_AUTO_TEST_CASE(the_file_is_appended_to) {
  TempPath path;
  std::ofstream(path.path()) << "earlier\n";
  auto sink = sinks::StreamSink::open({path.path(), 0ms, 65536});
  BOOST_REQUIRE(sink);
  BOOST_TEST((*sink)->flush_interval().count() == 0); // every line at once
  (*sink)->handle(vector_event());
  BOOST_TEST(read_file(path.path()) ==
             "earlier\n" + test::vector_json() + "\n");
}

BOOST_AUTO_TEST_CASE(an_unopenable_file_is_an_error) {
  const auto sink =
      sinks::StreamSink::open({"/nonexistent/dir/stream.jsonl", 200ms, 1});
  BOOST_REQUIRE(!sink);
  BOOST_TEST(sink.error().find("/nonexistent/dir/stream.jsonl") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
