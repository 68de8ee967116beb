#include "CapturedLog.hpp"
#include "EventCollector.hpp"
#include "MetricValue.hpp"
#include "TestUtil.hpp"
#include "Wait.hpp"
#include "bus/Bus.hpp"
#include "sinks/StreamSink.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

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

// An event that tells itself apart from the others by n.
core::Event numbered(std::int64_t n) {
  auto event = core::Event::internal("test.numbered");
  event.message.set("n", n);
  return event;
}

// The n of each line of text, in order; a line that is not whole is -1.
std::vector<std::int64_t> numbers_in(const std::string &text) {
  std::vector<std::int64_t> numbers;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto at = line.find("\"n\":");
    const bool whole = line.front() == '{' && line.back() == '}';
    numbers.push_back(whole && at != std::string::npos
                          ? std::stoll(line.substr(at + 4))
                          : -1);
  }
  if (!text.empty() && text.back() != '\n')
    numbers.push_back(-1); // a line cut short
  return numbers;
}

// A FIFO whose reading end the test opens, leaves unread and closes, to play
// a stalled or vanished reader of the stream.
class Fifo {
public:
  Fifo() { BOOST_REQUIRE(::mkfifo(m_path.c_str(), 0600) == 0); }
  const std::string &path() const { return m_path; }
  void open_reader() {
    m_reader.reset(::open(m_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    BOOST_REQUIRE(m_reader);
  }
  void close_reader() { m_reader.reset(); }
  std::string read_all() {
    std::string text;
    char buffer[4096];
    ssize_t got = 0;
    while ((got = ::read(m_reader.get(), buffer, sizeof(buffer))) > 0)
      text.append(buffer, static_cast<std::size_t>(got));
    return text;
  }

private:
  test::TempDir m_directory;
  std::string m_path = m_directory.path() + "/stream.fifo";
  util::Fd m_reader;
};

// A write to a pipe nobody reads fails with EPIPE instead of killing the
// test, as in dovewardend, which ignores SIGPIPE.
struct IgnoredSigpipe {
  IgnoredSigpipe() { m_old = ::signal(SIGPIPE, SIG_IGN); }
  ~IgnoredSigpipe() { ::signal(SIGPIPE, m_old); }
  sighandler_t m_old;
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

BOOST_AUTO_TEST_CASE(a_new_file_is_not_for_others_to_read) {
  TempPath path;
  const auto old_mask = ::umask(0);
  auto sink = sinks::StreamSink::open({path.path(), 0ms, 65536});
  ::umask(old_mask);
  BOOST_REQUIRE(sink);
  struct stat st {};
  BOOST_REQUIRE(::stat(path.path().c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0640u);
}

BOOST_AUTO_TEST_CASE(reopen_continues_in_a_new_file_after_a_rename) {
  TempPath path;
  auto sink = sinks::StreamSink::open({path.path(), 1h, 1 << 20});
  BOOST_REQUIRE(sink);
  (*sink)->handle(numbered(1));
  (*sink)->flush();
  (*sink)->handle(numbered(2)); // batched when logrotate renames the file
  const auto rotated = path.path() + ".1";
  BOOST_REQUIRE(std::rename(path.path().c_str(), rotated.c_str()) == 0);
  const auto reopened = (*sink)->reopen();
  BOOST_REQUIRE(reopened);
  BOOST_TEST(*reopened);
  struct stat st {};
  BOOST_REQUIRE(::stat(path.path().c_str(), &st) == 0); // made at once
  BOOST_TEST((st.st_mode & 0007) == 0u);
  (*sink)->handle(numbered(3));
  (*sink)->stop();
  BOOST_TEST(numbers_in(read_file(rotated)) == std::vector<std::int64_t>{1});
  BOOST_TEST(numbers_in(read_file(path.path())) ==
             (std::vector<std::int64_t>{2, 3}));
}

BOOST_AUTO_TEST_CASE(reopen_while_writing_loses_and_tears_no_line) {
  TempPath path;
  auto sink = sinks::StreamSink::open({path.path(), 200ms, 512});
  BOOST_REQUIRE(sink);
  constexpr std::int64_t k_events = 20000;
  std::thread worker([&] {
    for (std::int64_t n = 0; n < k_events; n++) {
      (*sink)->handle(numbered(n));
      if (n % 1000 == 0)
        (*sink)->flush();
    }
    (*sink)->stop();
  });
  std::vector<std::string> files;
  // no BOOST_REQUIRE while the worker runs: it must be joined
  bool rotated = true;
  for (int rotation = 1; rotation <= 20 && rotated; rotation++) {
    files.push_back(path.path() + "." + std::to_string(rotation));
    rotated = std::rename(path.path().c_str(), files.back().c_str()) == 0 &&
              (*sink)->reopen().has_value();
    std::this_thread::sleep_for(1ms); // let some lines land in between
  }
  worker.join();
  BOOST_TEST(rotated);
  files.push_back(path.path());
  std::multiset<std::int64_t> seen;
  for (const auto &file : files) {
    const auto numbers = numbers_in(read_file(file));
    seen.insert(numbers.begin(), numbers.end());
  }
  BOOST_TEST(seen.count(-1) == 0u); // no line torn
  BOOST_TEST(seen.size() == static_cast<std::size_t>(k_events));
  BOOST_TEST(std::set<std::int64_t>(seen.begin(), seen.end()).size() ==
             static_cast<std::size_t>(k_events)); // none twice
}

BOOST_AUTO_TEST_CASE(a_failed_reopen_keeps_writing_to_the_old_file) {
  TempPath path;
  auto sink = sinks::StreamSink::open({path.path(), 0ms, 65536});
  BOOST_REQUIRE(sink);
  const auto rotated = path.path() + ".1";
  BOOST_REQUIRE(std::rename(path.path().c_str(), rotated.c_str()) == 0);
  BOOST_REQUIRE(::mkdir(path.path().c_str(), 0700) == 0); // cannot be opened
  const auto reopened = (*sink)->reopen();
  BOOST_REQUIRE(!reopened);
  BOOST_TEST(reopened.error().find(path.path()) != std::string::npos);
  (*sink)->handle(numbered(1));
  BOOST_TEST(numbers_in(read_file(rotated)) == std::vector<std::int64_t>{1});
}

BOOST_AUTO_TEST_CASE(stdout_has_nothing_to_reopen) {
  auto sink = sinks::StreamSink::open({"-", 200ms, 65536});
  BOOST_REQUIRE(sink);
  const auto reopened = (*sink)->reopen();
  BOOST_REQUIRE(reopened);
  BOOST_TEST(!*reopened);
}

BOOST_AUTO_TEST_CASE(a_reader_that_went_away_is_logged_once_and_counted) {
  IgnoredSigpipe ignored;
  Fifo fifo;
  fifo.open_reader();
  std::size_t discarded = 0;
  sinks::StreamSink::Options options{fifo.path(), 0ms, 65536};
  options.on_discard = [&](std::size_t count) { discarded += count; };
  auto sink = sinks::StreamSink::open(options);
  BOOST_REQUIRE(sink);
  (*sink)->handle(numbered(1));
  BOOST_TEST(numbers_in(fifo.read_all()) == std::vector<std::int64_t>{1});
  fifo.close_reader();
  test::CapturedLog log;
  for (std::int64_t n = 2; n <= 4; n++)
    BOOST_CHECK_NO_THROW((*sink)->handle(numbered(n)));
  BOOST_TEST(discarded == 3u);
  BOOST_TEST(
      log.take() ==
      "error stream: the reader of " + fifo.path() +
          " went away (broken pipe); its events are discarded and "
          "counted in dovewarden_bus_dropped_total{subscriber=\"stream\"} "
          "until SIGHUP reopens it\n");
  // a new reader, and SIGHUP: the stream goes on
  fifo.open_reader();
  BOOST_REQUIRE((*sink)->reopen());
  (*sink)->handle(numbered(5));
  BOOST_TEST(numbers_in(fifo.read_all()) == std::vector<std::int64_t>{5});
  BOOST_TEST(discarded == 3u);
}

BOOST_AUTO_TEST_CASE(a_stalled_reader_drops_and_counts_and_stalls_no_one_else) {
  IgnoredSigpipe ignored;
  Fifo fifo;
  fifo.open_reader(); // and never read: the pipe fills, the writes block
  auto sink = sinks::StreamSink::open({fifo.path(), 0ms, 65536});
  BOOST_REQUIRE(sink);
  metrics::Metrics metrics;
  bus::Bus bus(metrics);
  bus.subscribe("*", *sink, bus::Bus::Options{100, bus::Bus::Overflow::drop});
  auto other = std::make_shared<test::EventCollector>();
  bus.subscribe("*", other);
  bus.start();
  constexpr std::int64_t k_events = 5000; // far beyond a pipe's 64 KiB
  {
    test::CapturedLog log;
    for (std::int64_t n = 0; n < k_events; n++)
      bus.publish(numbered(n));
    BOOST_TEST(test::wait_until(
        [&] { return other->events().size() == std::size_t{k_events}; }));
    BOOST_TEST(
        log.take().find("warn bus: stream: queue full (100 events); dropped 1 "
                        "event(s) since the last report") == 0);
  }
  const auto dropped = test::metric_value(
      metrics, "dovewarden_bus_dropped_total{subscriber=\"stream\"}");
  BOOST_REQUIRE(dropped);
  BOOST_TEST(*dropped > 0);
  // the reader goes away: the worker discards the rest, and stops
  fifo.close_reader();
  bus.stop();
}

BOOST_AUTO_TEST_SUITE_END()
