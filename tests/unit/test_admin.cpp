#include "TestUtil.hpp"
#include "admin/AdminServer.hpp"
#include "admin/AdminToken.hpp"
#include "admin/ReplicationApi.hpp"
#include "cli/AdminClient.hpp"
#include "cli/Format.hpp"
#include "cli/Settings.hpp"
#include "store/ReplicationStore.hpp"
#include "util/Glob.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

using namespace dovewarden;
using namespace std::chrono_literals;
using admin::AdminServer;
using admin::AdminToken;
using nlohmann::json;
using store::Priority;

using dovewarden::test::free_port;
using dovewarden::test::ok;
using dovewarden::test::read_file;

namespace {

using Env = std::map<std::string, std::string>;

cli::Settings::EnvLookup lookup(const Env &env) {
  return [env](const char *name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end())
      return std::nullopt;
    return it->second;
  };
}

// A fresh directory, removed with what it holds when the test ends.
class TempDir {
public:
  TempDir() {
    char name[] = "/tmp/dovewarden-test-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(name) != nullptr);
    m_path = name;
  }
  ~TempDir() { std::filesystem::remove_all(m_path); }
  const std::string &path() const { return m_path; }
  std::string write(const std::string &name, const std::string &text) const {
    const auto file = m_path + "/" + name;
    std::ofstream(file) << text;
    return file;
  }

private:
  std::string m_path;
};

store::TimePoint at(std::int64_t seconds) {
  return store::TimePoint(std::chrono::seconds(seconds));
}

// The store interface over a map, enough for the admin API; fail() makes
// every call answer an error.
class FakeStore : public store::ReplicationStore {
public:
  std::map<std::string, store::UserRecord> records;
  store::QueueStatus queue_status;
  std::atomic<bool> failing = false;
  std::mutex mutex;

  std::string describe() const override { return "fake"; }
  Result<void> do_ping() override { return check(); }

  Result<void>
  do_enqueue(const std::vector<store::SyncRequest> &requests) override {
    std::lock_guard lock(mutex);
    if (failing)
      return db::unavailable("fake store down");
    for (const auto &request : requests) {
      auto &record = records[request.user];
      record.user = request.user;
      if (!record.queued || request.priority > record.priority)
        record.priority = request.priority;
      if (!record.queued || request.requested < record.requested)
        record.requested = request.requested;
      record.queued = true;
      record.full_requested = record.full_requested || request.full;
    }
    return {};
  }
  Result<std::optional<store::Claim>>
  do_claim(const std::string &, store::TimePoint,
           std::chrono::milliseconds) override {
    return unsupported();
  }
  Result<bool> do_renew(const store::Claim &, const std::string &,
                        store::TimePoint, std::chrono::milliseconds) override {
    return unsupported();
  }
  Result<void> do_succeed(const store::Claim &, const std::string &,
                          const std::string &, bool,
                          store::TimePoint) override {
    return unsupported();
  }
  Result<void> do_fail(const store::Claim &, const std::string &,
                       const std::string &, store::TimePoint,
                       store::TimePoint) override {
    return unsupported();
  }
  Result<void> do_release(const store::Claim &, const std::string &) override {
    return unsupported();
  }
  Result<bool> do_remove(const std::string &user) override {
    std::lock_guard lock(mutex);
    if (failing)
      return db::unavailable("fake store down");
    return records.erase(user) > 0;
  }
  Result<std::vector<std::string>> do_lease_owners() override {
    return unsupported();
  }
  Result<std::size_t> do_release_owner(const std::string &) override {
    return unsupported();
  }
  Result<std::vector<store::UserRecord>>
  do_users(std::string_view mask) override {
    std::lock_guard lock(mutex);
    if (failing)
      return db::unavailable("fake store down");
    std::vector<store::UserRecord> found;
    for (const auto &[user, record] : records) {
      if (util::glob_match(mask, user))
        found.push_back(record);
    }
    return found;
  }
  Result<store::QueueStatus> do_status(store::TimePoint) override {
    std::lock_guard lock(mutex);
    if (failing)
      return db::unavailable("fake store down");
    return queue_status;
  }

  void add(const std::string &user) {
    std::lock_guard lock(mutex);
    records[user].user = user;
  }
  std::optional<store::UserRecord> find(const std::string &user) {
    std::lock_guard lock(mutex);
    const auto it = records.find(user);
    if (it == records.end())
      return std::nullopt;
    return it->second;
  }

private:
  Result<void> check() {
    if (failing)
      return db::unavailable("fake store down");
    return {};
  }
  static tl::unexpected<db::StoreFailure> unsupported() {
    return db::unavailable("not in the fake");
  }
};

constexpr const char *k_token = "s3cret-token";

// An AdminServer serving the ReplicationApi over a FakeStore on a loopback
// port, and a client with the right token.
struct ServerFixture {
  FakeStore store;
  std::vector<std::string> doveadm_users{"alex", "bert"};
  std::string doveadm_error; // non-empty: listing users fails
  replication::SkippedUsers::Summary skipped;
  std::uint16_t port = 0;
  admin::ReplicationApi api{
      store,
      [this]() -> tl::expected<std::vector<std::string>, std::string> {
        if (!doveadm_error.empty())
          return tl::unexpected(doveadm_error);
        return doveadm_users;
      },
      [this] { return skipped; }};
  std::unique_ptr<AdminServer> server;
  httplib::Headers auth{{"Authorization", std::string("Bearer ") + k_token}};

  ServerFixture() {
    // another process may take the port between free_port() and bind
    for (int attempt = 0; attempt < 5 && !server; attempt++) {
      port = free_port();
      server = std::make_unique<AdminServer>(
          util::ListenAddress{"127.0.0.1", port}, AdminToken(k_token));
      server->add(api);
      if (!server->start())
        server.reset();
    }
    BOOST_REQUIRE(server);
  }
  ~ServerFixture() { server->stop(); }

  httplib::Client client() const {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10, 0);
    return client;
  }
  json body_of(const httplib::Result &result) const {
    BOOST_REQUIRE(result);
    return json::parse(result->body);
  }
  httplib::Result replicate(const json &body) {
    return client().Post("/v1/replication/replicate", auth, body.dump(),
                         "application/json");
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(admin)

// --- AdminToken ---

BOOST_AUTO_TEST_CASE(token_from_environment_value) {
  const auto token =
      AdminToken::load("from-env", "/nonexistent", "/nonexistent");
  BOOST_REQUIRE(token);
  BOOST_TEST(token->verify("from-env"));
  BOOST_TEST(!token->verify("from-enw"));
  BOOST_TEST(!token->verify("from-env2"));
  BOOST_TEST(!token->verify(""));
  BOOST_TEST(token->origin() == "DOVEWARDEN_ADMIN_TOKEN");
}

BOOST_AUTO_TEST_CASE(empty_token_is_refused) {
  BOOST_TEST(!AdminToken::load(" ", "", "/x"));
  TempDir dir;
  const auto file = dir.write("token", "\n");
  const auto token = AdminToken::load("", file, dir.path());
  BOOST_REQUIRE(!token);
  BOOST_TEST(token.error().find(file) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(token_from_named_file) {
  TempDir dir;
  const auto file = dir.write("token", "  from-file \r\nsecond line\n");
  const auto token = AdminToken::load("", file, dir.path());
  BOOST_REQUIRE(token);
  BOOST_TEST(token->verify("from-file"));
  BOOST_TEST(!token->verify("second line"));
  BOOST_TEST(token->origin() == file);
  // the named file is never created
  BOOST_TEST(!std::filesystem::exists(dir.path() + "/admin.token"));
}

BOOST_AUTO_TEST_CASE(missing_named_file_is_an_error) {
  TempDir dir;
  const auto token = AdminToken::load("", dir.path() + "/none", dir.path());
  BOOST_REQUIRE(!token);
  BOOST_TEST(token.error().find(dir.path() + "/none") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(token_generated_once_into_store_directory) {
  TempDir dir;
  const auto path = dir.path() + "/admin.token";
  const auto first = AdminToken::load("", "", dir.path());
  BOOST_REQUIRE(first);
  BOOST_TEST(first->origin() == path);
  struct stat info {};
  BOOST_REQUIRE(::stat(path.c_str(), &info) == 0);
  BOOST_TEST((info.st_mode & 07777) == 0600u);
  const auto text = read_file(path);
  BOOST_REQUIRE(text.size() == 65u);
  BOOST_TEST(text.back() == '\n');
  const auto secret = text.substr(0, 64);
  BOOST_TEST(secret.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(first->verify(secret));

  const auto second = AdminToken::load("", "", dir.path());
  BOOST_REQUIRE(second);
  BOOST_TEST(second->verify(secret));
  BOOST_TEST(read_file(path) == text);
  // nothing but the token file is left behind
  BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir.path()),
                           std::filesystem::directory_iterator()) == 1);
}

BOOST_AUTO_TEST_CASE(unwritable_store_directory_is_an_error) {
  const auto token = AdminToken::load("", "", "/nonexistent/dir");
  BOOST_REQUIRE(!token);
  BOOST_TEST(token.error().find("/nonexistent/dir") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(generated_tokens_differ) {
  BOOST_TEST(AdminToken::generate() != AdminToken::generate());
}

// --- AdminServer ---

BOOST_FIXTURE_TEST_CASE(requests_without_the_token_are_refused, ServerFixture) {
  auto client = this->client();
  for (const auto &headers :
       {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer wrong"}},
        httplib::Headers{{"Authorization", std::string("Basic ") + k_token}},
        httplib::Headers{{"Authorization", "Bearer "}}}) {
    const auto result = client.Get("/v1/replication/status", headers);
    BOOST_REQUIRE(result);
    BOOST_TEST(result->status == 401);
    BOOST_TEST(result->get_header_value("WWW-Authenticate") == "Bearer");
  }
  // unknown paths and mutations too, and the store is not touched
  store.add("alice");
  auto result = client.Delete("/v1/replication/users/alice");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 401);
  BOOST_TEST(store.find("alice").has_value());
  result = client.Get("/v1/nothing");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 401);
}

BOOST_FIXTURE_TEST_CASE(status_counts, ServerFixture) {
  store.queue_status.queued = {1, 2, 3, 4};
  store.queue_status.waiting = 5;
  store.queue_status.running = 6;
  store.queue_status.failed = 7;
  store.queue_status.users = 8;
  const auto result = client().Get("/v1/replication/status", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(result->get_header_value("Content-Type") == "application/json");
  BOOST_TEST(body_of(result) ==
             json::parse(R"({"queued":{"none":1,"low":2,"high":3,"sync":4},
                             "waiting":5,"running":6,"failed":7,"users":8,
                             "noreplicate":{"skipped":0,"recent":[]}})"));
}

BOOST_FIXTURE_TEST_CASE(status_shows_the_syncs_skipped_for_noreplicate,
                        ServerFixture) {
  skipped = {3, {"norep", "other"}};
  const auto result = client().Get("/v1/replication/status", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(body_of(result).at("noreplicate") ==
             json::parse(R"({"skipped":3,"recent":["norep","other"]})"));
}

BOOST_FIXTURE_TEST_CASE(users_by_mask, ServerFixture) {
  store::UserRecord alice;
  alice.user = "alice";
  alice.queued = true;
  alice.priority = Priority::high;
  alice.requested = at(1700000100);
  alice.last_fast_sync = at(1700000000);
  alice.last_full_sync = at(1690000000);
  alice.last_success = at(1690000000);
  alice.failed = true;
  alice.failures = 2;
  alice.last_error = "doveadm: timeout";
  alice.next_attempt = at(1700000200);
  alice.owner = "host-1";
  alice.lease_until = store::Clock::now() + 1h;
  store.records["alice"] = alice;
  store.add("bob");
  store.records["bob"].owner = "host-2"; // an expired lease is not running
  store.records["bob"].lease_until = at(1);

  auto result = client().Get("/v1/replication/users?mask=a%2A", auth);
  BOOST_TEST(body_of(result) == json::parse(R"([{
      "user":"alice","queued":true,"priority":"high","requested":1700000100,
      "full_requested":false,"last_fast_sync":1700000000,
      "last_full_sync":1690000000,"last_success":1690000000,"failed":true,
      "failures":2,"last_error":"doveadm: timeout","next_attempt":1700000200,
      "running":true}])"));

  result = client().Get("/v1/replication/users", auth);
  const auto all = body_of(result);
  BOOST_REQUIRE(all.size() == 2u);
  BOOST_TEST(all[1] == json::parse(R"({
      "user":"bob","queued":false,"priority":"none","requested":null,
      "full_requested":false,"last_fast_sync":null,"last_full_sync":null,
      "last_success":null,"failed":false,"failures":0,"last_error":"",
      "next_attempt":null,"running":false})"));

  result = client().Get("/v1/replication/users?mask=", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 400);
}

BOOST_FIXTURE_TEST_CASE(replicate_one_user_known_or_not, ServerFixture) {
  const auto before = store::Clock::now() - 1s;
  auto result = replicate({{"mask", "carol@example.org"}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  BOOST_TEST(body_of(result) == json::parse(R"({"queued":1})"));
  const auto carol = store.find("carol@example.org");
  BOOST_REQUIRE(carol);
  BOOST_TEST(carol->queued);
  // doveadm replicator replicate's default priority
  BOOST_TEST((carol->priority == Priority::low));
  BOOST_TEST(!carol->full_requested);
  BOOST_TEST((carol->requested >= before));
  BOOST_TEST(store.records.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(replicate_mask_full_priority, ServerFixture) {
  store.add("alice");
  store.add("anna");
  store.add("bob");
  // "alex" is only known to doveadm, "anna" to both
  doveadm_users = {"alex", "anna", "bert"};
  const auto result =
      replicate({{"mask", "a*"}, {"full", true}, {"priority", "sync"}});
  BOOST_TEST(body_of(result) == json::parse(R"({"queued":3})"));
  for (const auto *user : {"alex", "alice", "anna"}) {
    const auto record = store.find(user);
    BOOST_REQUIRE(record);
    BOOST_TEST(record->queued);
    BOOST_TEST((record->priority == Priority::sync));
    BOOST_TEST(record->full_requested);
  }
  BOOST_TEST(!store.find("bob")->queued);
  BOOST_TEST(!store.find("bert"));
}

BOOST_FIXTURE_TEST_CASE(replicate_mask_without_matches, ServerFixture) {
  store.add("bob");
  const auto result = replicate({{"mask", "z?"}, {"priority", "high"}});
  BOOST_TEST(body_of(result) == json::parse(R"({"queued":0})"));
  BOOST_TEST(!store.find("bob")->queued);
}

BOOST_FIXTURE_TEST_CASE(replicate_refuses_bad_input, ServerFixture) {
  for (const auto *body :
       {"not json", "[]", R"({"full":true})", R"({"mask":""})",
        R"({"mask":"a","priority":"urgent"})", R"({"mask":"a","full":"yes"})",
        R"({"mask":7})", R"({"mask":"a","prio":"high"})",
        "{\"mask\":\"a\\nb\"}"}) {
    BOOST_TEST_CONTEXT(body) {
      const auto result = client().Post("/v1/replication/replicate", auth, body,
                                        "application/json");
      BOOST_REQUIRE(result);
      BOOST_TEST(result->status == 400);
      BOOST_TEST(json::parse(result->body).at("error").is_string());
    }
  }
  BOOST_TEST(store.records.empty());
}

BOOST_FIXTURE_TEST_CASE(remove_known_and_unknown, ServerFixture) {
  store.add("dave@example.org");
  store.add("erin");
  auto result =
      client().Delete("/v1/replication/users/dave%40example.org", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 204);
  BOOST_TEST(!store.find("dave@example.org"));
  BOOST_TEST(store.find("erin").has_value());
  result = client().Delete("/v1/replication/users/dave%40example.org", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 404);
  BOOST_TEST(json::parse(result->body).at("error").is_string());
}

BOOST_FIXTURE_TEST_CASE(store_failures_answer_503, ServerFixture) {
  store.add("alice");
  store.failing = true;
  auto client = this->client();
  std::vector<httplib::Result> results;
  results.push_back(client.Get("/v1/replication/status", auth));
  results.push_back(client.Get("/v1/replication/users?mask=*", auth));
  results.push_back(replicate({{"mask", "alice"}}));
  results.push_back(replicate({{"mask", "a*"}}));
  results.push_back(client.Delete("/v1/replication/users/alice", auth));
  for (const auto &result : results) {
    BOOST_REQUIRE(result);
    BOOST_TEST(result->status == 503);
    BOOST_TEST(json::parse(result->body)
                   .at("error")
                   .get<std::string>()
                   .find("fake store down") != std::string::npos);
  }
  store.failing = false;
  BOOST_TEST(store.find("alice").has_value());
}

BOOST_FIXTURE_TEST_CASE(user_list_failure_answers_503, ServerFixture) {
  store.add("alice");
  doveadm_error = "doveadm: 500";
  const auto result = replicate({{"mask", "a*"}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 503);
  BOOST_TEST(!store.find("alice")->queued);
  // a single user needs no list
  BOOST_TEST(body_of(replicate({{"mask", "alice"}})) ==
             json::parse(R"({"queued":1})"));
}

// --- the dovewarden command: formatting, settings, client ---

BOOST_AUTO_TEST_CASE(time_ago_like_doveadm) {
  BOOST_TEST(cli::time_ago(std::nullopt, 1000) == "-");
  BOOST_TEST(cli::time_ago(1000, 1083) == "00:01:23");
  BOOST_TEST(cli::time_ago(1000, 1000 + 100 * 3600 + 59) == "100:00:59");
  BOOST_TEST(cli::time_ago(1000, 990) == "00:00:00");
}

BOOST_AUTO_TEST_CASE(table_pads_columns_by_characters) {
  BOOST_TEST(cli::format_table({{"a", "bb", "c"}, {"ünï", "b", "c"}}) ==
             "a    bb  c\n"
             "ünï  b   c\n");
}

BOOST_AUTO_TEST_CASE(status_overview_table) {
  const auto status =
      json::parse(R"({"queued":{"none":1,"low":2,"high":3,"sync":4},
                      "waiting":5,"running":6,"failed":7,"users":1234})");
  BOOST_TEST(cli::format_status(status) ==
             "Queued 'sync' requests        4\n"
             "Queued 'high' requests        3\n"
             "Queued 'low' requests         2\n"
             "Queued 'none' requests        1\n"
             "Waiting 'failed' requests     5\n"
             "Running syncs                 6\n"
             "Users whose last sync failed  7\n"
             "Total number of known users   1234\n");
  BOOST_CHECK_THROW(cli::format_status(json::parse(R"({"queued":{}})")),
                    json::exception);
}

BOOST_AUTO_TEST_CASE(status_overview_with_the_syncs_skipped_for_noreplicate) {
  auto status = json::parse(R"({"queued":{"none":1,"low":2,"high":3,"sync":4},
                      "waiting":5,"running":6,"failed":7,"users":1234})");
  const auto without = cli::format_status(status);
  status["noreplicate"] = {{"skipped", 9},
                           {"recent", json::array({"norep", "bob"})}};
  BOOST_TEST(cli::format_status(status) ==
             without + "Skipped syncs (noreplicate)   9\n"
                       "Last noreplicate users        norep,bob\n");
  status["noreplicate"]["recent"] = json::array();
  BOOST_TEST(cli::format_status(status) ==
             without + "Skipped syncs (noreplicate)   9\n");
}

BOOST_AUTO_TEST_CASE(users_table) {
  const std::int64_t now = 1700003600;
  const auto users = json::parse(R"([
    {"user":"alice@example.org","queued":true,"priority":"high",
     "last_fast_sync":1700003517,"last_full_sync":1699996400,
     "last_success":1700003517,"failed":false,"next_attempt":null,
     "running":false},
    {"user":"bob","queued":true,"priority":"low","last_fast_sync":null,
     "last_full_sync":null,"last_success":null,"failed":true,
     "next_attempt":1700003690,"running":false},
    {"user":"carol","queued":false,"priority":"none",
     "last_fast_sync":1700003000,"last_full_sync":1700003000,
     "last_success":1700003000,"failed":false,"next_attempt":null,
     "running":false},
    {"user":"dan\u0001","queued":true,"priority":"sync",
     "last_fast_sync":null,"last_full_sync":null,"last_success":null,
     "failed":false,"next_attempt":null,"running":true}])");
  BOOST_TEST(
      cli::format_users(users, now) ==
      "username           priority  fast sync  full sync  success sync  "
      "failed  next sync\n"
      "alice@example.org  high      00:01:23   02:00:00   00:01:23      "
      "-       now\n"
      "bob                low       -          -          -             "
      "y       in 00:01:30\n"
      "carol              none      00:10:00   00:10:00   00:10:00      "
      "-       -\n"
      "dan\\x01            sync      -          -          -             "
      "-       running\n");
  BOOST_TEST(cli::format_users(json::array(), now) ==
             "username  priority  fast sync  full sync  success sync  failed  "
             "next sync\n");
}

BOOST_AUTO_TEST_CASE(settings_from_environment_and_config_file) {
  TempDir dir;
  const auto token_file = dir.write("token", "file-token\n");
  const auto config = dir.write("config", "DOVEWARDEN_ADMIN_ADDR=[::1]:7000\n"
                                          "DOVEWARDEN_ADMIN_TOKEN_FILE=" +
                                              token_file + "\n");
  cli::Settings::Sources sources;
  sources.config_flag = config;
  sources.default_config = "";
  auto settings = cli::Settings::resolve(lookup({}), sources);
  BOOST_REQUIRE(settings);
  BOOST_TEST(settings->host == "::1");
  BOOST_TEST(settings->port == 7000);
  BOOST_TEST(settings->token == "file-token");

  // the environment beats the file, --addr beats both
  settings =
      cli::Settings::resolve(lookup({{"DOVEWARDEN_ADMIN_ADDR", ":7001"},
                                     {"DOVEWARDEN_ADMIN_TOKEN", "env-token"}}),
                             sources);
  BOOST_REQUIRE(settings);
  BOOST_TEST(settings->host == "127.0.0.1");
  BOOST_TEST(settings->port == 7001);
  BOOST_TEST(settings->token == "env-token");
  sources.addr_flag = "localhost:7002";
  settings = cli::Settings::resolve(lookup({}), sources);
  BOOST_REQUIRE(settings);
  BOOST_TEST(settings->host == "localhost");
  BOOST_TEST(settings->port == 7002);
}

BOOST_AUTO_TEST_CASE(settings_default_token_file_in_store_directory) {
  TempDir dir;
  cli::Settings::Sources sources;
  sources.default_config = dir.path() + "/absent";
  sources.default_store = dir.path() + "/absent";
  dir.write("admin.token", "stored-token\n");
  auto settings = cli::Settings::resolve(
      lookup({{"DOVEWARDEN_STORE_PATH", dir.path()}}), sources);
  BOOST_REQUIRE(settings);
  BOOST_TEST(settings->host == "127.0.0.1");
  BOOST_TEST(settings->port == 9091);
  BOOST_TEST(settings->token == "stored-token");

  settings = cli::Settings::resolve(lookup({}), sources);
  BOOST_REQUIRE(!settings);
  BOOST_TEST(settings.error().exit_code == cli::k_exit_no_permission);
  BOOST_TEST(settings.error().message.find(
                 dir.path() + "/absent/admin.token") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(settings_refuse_bad_address_and_config) {
  cli::Settings::Sources sources;
  sources.default_config = "";
  sources.addr_flag = "nowhere";
  auto settings = cli::Settings::resolve(
      lookup({{"DOVEWARDEN_ADMIN_TOKEN", "t"}}), sources);
  BOOST_REQUIRE(!settings);
  BOOST_TEST(settings.error().exit_code == cli::k_exit_usage);
  sources.addr_flag = "";
  sources.config_flag = "/nonexistent/config";
  settings = cli::Settings::resolve(lookup({{"DOVEWARDEN_ADMIN_TOKEN", "t"}}),
                                    sources);
  BOOST_REQUIRE(!settings);
  BOOST_TEST(settings.error().exit_code == cli::k_exit_usage);
  BOOST_TEST(settings.error().message.find("/nonexistent/config") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(escape_for_paths_and_queries) {
  BOOST_TEST(cli::AdminClient::escape("a.b-c_d~9") == "a.b-c_d~9");
  BOOST_TEST(cli::AdminClient::escape("a b@x/y*%+") ==
             "a%20b%40x%2Fy%2A%25%2B");
}

BOOST_FIXTURE_TEST_CASE(client_maps_answers_to_exit_codes, ServerFixture) {
  store.add("a b@x/y");
  cli::Settings settings{"127.0.0.1", port, k_token};
  cli::AdminClient client(settings);
  auto answer = client.get("/v1/replication/users?mask=" +
                           cli::AdminClient::escape("a b@x/*"));
  BOOST_REQUIRE(answer);
  BOOST_REQUIRE(answer->size() == 1u);
  BOOST_TEST((*answer)[0].at("user") == "a b@x/y");
  answer = client.remove("/v1/replication/users/" +
                         cli::AdminClient::escape("a b@x/y"));
  BOOST_REQUIRE(answer);
  BOOST_TEST(answer->is_null());
  BOOST_TEST(!store.find("a b@x/y"));

  answer = client.remove("/v1/replication/users/nobody");
  BOOST_REQUIRE(!answer);
  BOOST_TEST(answer.error().exit_code == cli::k_exit_no_user);
  answer = client.post("/v1/replication/replicate", json{{"mask", ""}});
  BOOST_REQUIRE(!answer);
  BOOST_TEST(answer.error().exit_code == cli::k_exit_usage);
  store.failing = true;
  answer = client.get("/v1/replication/status");
  BOOST_REQUIRE(!answer);
  BOOST_TEST(answer.error().exit_code == cli::k_exit_unavailable);
  store.failing = false;

  cli::AdminClient wrong({"127.0.0.1", port, "wrong"});
  answer = wrong.get("/v1/replication/status");
  BOOST_REQUIRE(!answer);
  BOOST_TEST(answer.error().exit_code == cli::k_exit_no_permission);

  server->stop();
  answer = client.get("/v1/replication/status");
  BOOST_REQUIRE(!answer);
  BOOST_TEST(answer.error().exit_code == cli::k_exit_unavailable);
}

BOOST_FIXTURE_TEST_CASE(dovewarden_command_against_the_server, ServerFixture) {
  const std::string binary = DOVEWARDEN_TOP_BUILDDIR "/cli/dovewarden";
  BOOST_REQUIRE_MESSAGE(::access(binary.c_str(), X_OK) == 0,
                        binary + " is not built");
  TempDir dir;
  const auto config = dir.write(
      "config", "DOVEWARDEN_ADMIN_ADDR=127.0.0.1:" + std::to_string(port) +
                    "\nDOVEWARDEN_ADMIN_TOKEN=" + k_token + "\n");
  // runs the command with a clean environment; returns its exit code and
  // stdout (stderr is appended)
  const auto run = [&](const std::string &args,
                       const std::string &settings = "") {
    const auto command = "env -i " + binary + " --config " +
                         (settings.empty() ? config : settings) + " " + args +
                         " 2>&1";
    FILE *pipe = ::popen(command.c_str(), "r");
    BOOST_REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[4096];
    std::size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0)
      output.append(buffer, got);
    const int status = ::pclose(pipe);
    BOOST_REQUIRE(WIFEXITED(status));
    return std::make_pair(WEXITSTATUS(status), output);
  };

  store.queue_status.users = 2;
  auto [code, output] = run("status");
  BOOST_TEST(code == 0);
  BOOST_TEST(output.find("Total number of known users   2\n") !=
             std::string::npos);

  std::tie(code, output) = run("replicate -f -p high 'frank'");
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "1 users updated\n");
  BOOST_TEST((store.find("frank")->priority == Priority::high));
  BOOST_TEST(store.find("frank")->full_requested);

  std::tie(code, output) = run("--json status 'f*'");
  BOOST_TEST(code == 0);
  BOOST_TEST(json::parse(output).at(0).at("user") == "frank");

  std::tie(code, output) = run("remove frank");
  BOOST_TEST(code == 0);
  std::tie(code, output) = run("remove frank");
  BOOST_TEST(code == 67);
  BOOST_TEST(output.rfind("dovewarden: ", 0) == 0);
  BOOST_TEST(std::count(output.begin(), output.end(), '\n') == 1);

  std::tie(code, output) = run("replicate -p urgent frank");
  BOOST_TEST(code == 64);
  const auto wrong = dir.write(
      "wrong", "DOVEWARDEN_ADMIN_ADDR=127.0.0.1:" + std::to_string(port) +
                   "\nDOVEWARDEN_ADMIN_TOKEN=nope\n");
  std::tie(code, output) = run("status", wrong);
  BOOST_TEST(code == 77);
  store.failing = true;
  std::tie(code, output) = run("status");
  BOOST_TEST(code == 69);
}

BOOST_AUTO_TEST_SUITE_END()
