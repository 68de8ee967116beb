#include "MetricValue.hpp"
#include "bus/Bus.hpp"
#include "metrics/Metrics.hpp"
#include "pipeline/Pipeline.hpp"
#include "replication/ReplicationMetrics.hpp"
#include "sources/HttpEventSource.hpp"
#include "sources/ZmqSource.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace dw = dovewarden;

namespace {

// The metrics of a daemon that has just started, with both sources and
// replication, before any event arrived.
struct Started {
  dw::metrics::Metrics metrics;
  dw::bus::Bus bus{metrics};
  dw::pipeline::Pipeline pipeline{bus, metrics};
  dw::sources::ZmqSource zmq{dw::sources::ZmqSource::Options{}, pipeline,
                             metrics, [](const std::string &) {}};
  dw::sources::HttpEventSource http{
      dw::sources::HttpEventSource::Options{}, pipeline, {}};
  dw::replication::ReplicationMetrics replication{metrics.registry()};

  // Checks that the series line exists and is 0.
  void expect_zero(const std::string &line) const {
    BOOST_TEST_CONTEXT(line) {
      const auto value = dw::test::metric_value(metrics, line);
      BOOST_TEST_REQUIRE(value.has_value());
      BOOST_TEST(*value == 0.0);
    }
  }
};

std::string
series(const std::string &name,
       const std::vector<std::pair<std::string, std::string>> &labels) {
  std::string line = name + "{";
  for (std::size_t i = 0; i < labels.size(); i++)
    line += (i ? "," : "") + labels[i].first + "=\"" + labels[i].second + "\"";
  return line + "}";
}

} // namespace

BOOST_AUTO_TEST_SUITE(error_series)

BOOST_AUTO_TEST_CASE(events_lost_and_seq_resets_exist_for_the_usual_services) {
  const Started started;
  for (const char *svc : {"imap", "lmtp", "pop3", "lda", "doveadm"}) {
    started.expect_zero(series("dovewarden_events_lost_total", {{"svc", svc}}));
    started.expect_zero(
        series("dovewarden_events_seq_resets_total", {{"svc", svc}}));
  }
}

BOOST_AUTO_TEST_CASE(every_rejection_of_each_source_exists) {
  const Started started;
  for (const char *reason :
       {"not_msgpack", "not_a_map", "bad_key", "no_version", "unknown_version",
        "no_type", "too_large", "duplicate_key"})
    started.expect_zero(series("dovewarden_events_rejected_total",
                               {{"reason", reason}, {"source", "zmq"}}));
  for (const char *reason :
       {"not_json", "truncated", "not_an_object", "no_event_name", "no_user",
        "bad_time", "bad_number", "duplicate_key", "too_large", "unreadable",
        "forbidden", "unauthorized"})
    started.expect_zero(series("dovewarden_events_rejected_total",
                               {{"reason", reason}, {"source", "http"}}));
  for (const char *reason : {"unknown_key", "no_credentials", "not_allowed"})
    started.expect_zero(series("dovewarden_peers_refused_total",
                               {{"reason", reason}, {"source", "zmq"}}));
}

BOOST_AUTO_TEST_CASE(every_doveadm_result_exists_auth_included) {
  const Started started;
  for (const char *command : {"sync", "user"}) {
    for (const char *result :
         {"ok", "unreachable", "temporary", "no_such_user", "auth", "protocol"})
      started.expect_zero(series("dovewarden_doveadm_requests_total",
                                 {{"command", command}, {"result", result}}));
  }
}

BOOST_AUTO_TEST_CASE(every_store_error_sync_and_sweep_result_exists) {
  const Started started;
  for (const char *operation :
       {"claim", "enqueue", "fail", "lease_owners", "release", "release_owner",
        "remove", "renew", "status", "succeed"})
    started.expect_zero(
        series("dovewarden_store_errors_total", {{"operation", operation}}));
  for (const char *kind : {"fast", "full"}) {
    for (const char *result : {"ok", "failed"})
      started.expect_zero(series("dovewarden_replication_syncs_total",
                                 {{"kind", kind}, {"result", result}}));
    started.expect_zero(
        series("dovewarden_replication_sync_duration_seconds_count",
               {{"kind", kind}}));
  }
  for (const char *result : {"ok", "failed"})
    started.expect_zero(
        series("dovewarden_replication_sweeps_total", {{"result", result}}));
}

BOOST_AUTO_TEST_CASE(a_counted_error_adds_to_its_series) {
  Started started;
  started.replication.doveadm_request("sync", "auth");
  started.pipeline.reject("zmq", dw::wire::Reject::no_type);
  BOOST_TEST(*dw::test::metric_value(
                 started.metrics,
                 series("dovewarden_doveadm_requests_total",
                        {{"command", "sync"}, {"result", "auth"}})) == 1.0);
  BOOST_TEST(*dw::test::metric_value(
                 started.metrics,
                 series("dovewarden_events_rejected_total",
                        {{"reason", "no_type"}, {"source", "zmq"}})) == 1.0);
}

BOOST_AUTO_TEST_SUITE_END()
