#include "shared/wire.hpp"
#include "sources/RejectSummary.hpp"
#include "util/Fd.hpp"
#include "util/Logger.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

using dovewarden::sources::RejectSummary;
using dovewarden::util::Logger;
using dovewarden::util::LogLevel;
using dovewarden::wire::Reject;

namespace {

constexpr const char *k_hint = "; DOVEWARDEN_LOG_LEVEL=debug logs each one";

// Takes what the log writes to stderr, for the length of its scope.
class CapturedLog {
public:
  CapturedLog() : m_stderr(::dup(STDERR_FILENO)) {
    char name[] = "/tmp/dovewarden-log-XXXXXX";
    m_file.reset(::mkstemp(name));
    BOOST_REQUIRE(m_file && m_stderr);
    ::unlink(name);
    BOOST_REQUIRE(::dup2(m_file.get(), STDERR_FILENO) == STDERR_FILENO);
  }
  ~CapturedLog() { ::dup2(m_stderr.get(), STDERR_FILENO); }
  CapturedLog(const CapturedLog &) = delete;
  CapturedLog &operator=(const CapturedLog &) = delete;

  // Returns the messages logged since the last call, each without its time
  // ("warn zmq: ...\n"), and forgets them.
  std::string take() {
    std::string text;
    char buffer[4096];
    ssize_t got = 0;
    ::lseek(m_file.get(), 0, SEEK_SET);
    while ((got = ::read(m_file.get(), buffer, sizeof(buffer))) > 0)
      text.append(buffer, static_cast<std::size_t>(got));
    BOOST_REQUIRE(::ftruncate(m_file.get(), 0) == 0);
    ::lseek(m_file.get(), 0, SEEK_SET);
    std::string messages;
    for (std::size_t at = 0; at < text.size();) {
      const auto time_end = text.find(' ', at);
      const auto line_end = text.find('\n', at);
      BOOST_REQUIRE(time_end < line_end && line_end != std::string::npos);
      messages += text.substr(time_end + 1, line_end - time_end);
      at = line_end + 1;
    }
    return messages;
  }

private:
  dovewarden::util::Fd m_stderr;
  dovewarden::util::Fd m_file;
};

// Logs at level for the length of its scope, then at info, the default.
struct LogLevelScope {
  explicit LogLevelScope(LogLevel level) { Logger::set_level(level); }
  ~LogLevelScope() { Logger::set_level(LogLevel::info); }
};

// Returns what the log says of two rejections in a row.
std::string log_of_two_rejections() {
  CapturedLog log;
  RejectSummary rejects("zmq");
  rejects.record(Reject::not_a_map, 42);
  rejects.record(Reject::no_version, 7);
  return log.take();
}

} // namespace

BOOST_AUTO_TEST_SUITE(reject_summary)

BOOST_AUTO_TEST_CASE(the_first_rejection_is_reported_at_once) {
  CapturedLog log;
  RejectSummary rejects("zmq");
  rejects.record(Reject::bad_key, 42);
  BOOST_TEST(log.take() ==
             std::string("warn zmq: rejected 1 malformed message since the "
                         "last report (bad_key: 1)") +
                 k_hint + "\n");
}

BOOST_AUTO_TEST_CASE(later_ones_wait_for_the_next_report_and_are_summed_up) {
  CapturedLog log;
  RejectSummary rejects("zmq");
  rejects.record(Reject::bad_key, 42);
  log.take();
  // within the minute: no line for each, however many come
  rejects.record(Reject::no_type, 10);
  rejects.record(Reject::bad_key, 11);
  rejects.record(Reject::no_type, 12);
  rejects.record(Reject::not_msgpack, 13);
  rejects.tick();
  BOOST_TEST(log.take() == "");
  // flush() says what is left, by reason in the order first seen
  rejects.flush();
  BOOST_TEST(log.take() ==
             std::string("warn zmq: rejected 4 malformed messages since the "
                         "last report (no_type: 2, bad_key: 1, "
                         "not_msgpack: 1)") +
                 k_hint + "\n");
  rejects.flush();
  BOOST_TEST(log.take() == "");
}

BOOST_AUTO_TEST_CASE(a_reason_may_be_given_by_name) {
  CapturedLog log;
  RejectSummary rejects("http");
  rejects.record("too_large", 20000000);
  BOOST_TEST(log.take() ==
             std::string("warn http: rejected 1 malformed message since the "
                         "last report (too_large: 1)") +
                 k_hint + "\n");
}

BOOST_AUTO_TEST_CASE(at_debug_level_each_rejection_has_a_line) {
  const LogLevelScope debug(LogLevel::debug);
  BOOST_TEST(log_of_two_rejections() ==
             std::string("debug zmq: rejected a message of 42 bytes: "
                         "not_a_map\n"
                         "warn zmq: rejected 1 malformed message since the "
                         "last report (not_a_map: 1)") +
                 k_hint +
                 "\n"
                 "debug zmq: rejected a message of 7 bytes: no_version\n");
}

BOOST_AUTO_TEST_CASE(at_info_level_only_the_summary_has_a_line) {
  BOOST_TEST(log_of_two_rejections() ==
             std::string("warn zmq: rejected 1 malformed message since the "
                         "last report (not_a_map: 1)") +
                 k_hint + "\n");
}

BOOST_AUTO_TEST_SUITE_END()
