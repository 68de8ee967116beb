#include "TestUtil.hpp"
#include "sinks/StreamSink.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <string>

using namespace dovewarden;
using namespace std::chrono_literals;

using dovewarden::test::free_port;
using dovewarden::test::ok;
using dovewarden::test::read_file;
using dovewarden::test::vector_event;

namespace {

// A path in a fresh directory, both removed when the test ends.
class TempPath {
public:
  const std::string &path() const { return m_path; }

private:
  test::TempDir m_directory;
  std::string m_path = m_directory.path() + "/stream.jsonl";
};

} // namespace

BOOST_AUTO_TEST_SUITE(stream_sink)

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
