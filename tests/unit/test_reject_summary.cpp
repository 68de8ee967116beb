#include "CapturedLog.hpp"
#include "shared/wire.hpp"
#include "sources/RejectSummary.hpp"
#include "util/Logger.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

using dovewarden::sources::RejectSummary;
using dovewarden::test::CapturedLog;
using dovewarden::util::Logger;
using dovewarden::util::LogLevel;
using dovewarden::wire::Reject;

namespace {

constexpr const char *k_hint = "; DOVEWARDEN_LOG_LEVEL=debug logs each one";

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
