// The doveadm HTTP client against a stand-in for doveadm: the canned answers
// are what Dovecot 2.3.19 and 2.4.1 answered (tests/integration exercise the
// real one).
#include "FreePort.hpp"
#include "HttpServer.hpp"
#include "WaitingConnections.hpp"
#include "replication/DoveadmHttpClient.hpp"
#include "util/ConfigError.hpp"
#include "util/Fd.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using dovewarden::replication::DoveadmClient;
using dovewarden::replication::DoveadmFailure;
using dovewarden::replication::DoveadmHttpClient;
using nlohmann::json;
using Kind = DoveadmFailure::Kind;
using namespace std::chrono_literals;

namespace {

constexpr const char *k_state = "AQAAAHm4+Jk=";
constexpr const char *k_dest = "tcp:replica:12345";
constexpr const char *k_sync_ok =
    R"([["doveadmResponse",[{"state":"AQAAAHm4+Jk="}],"TAG"]])";
constexpr const char *k_exit_67 =
    R"([["error",{"type":"exitCode", "exitCode":67},"TAG"]])";
constexpr const char *k_exit_75 =
    R"([["error",{"type":"exitCode", "exitCode":75},"TAG"]])";
constexpr const char *k_exit_1001 =
    R"([["error",{"type":"exitCode", "exitCode":1001},"TAG"]])";
constexpr const char *k_user_list =
    R"([["doveadmResponse",{"userList":["alice","bob","norep"]},"TAG"]])";
constexpr const char *k_user_alice =
    R"([["doveadmResponse",{"alice":{"uid":"5000","gid":"5000",)"
    R"("home":"/srv/mail/alice","mail":"maildir:~/Maildir"}},"TAG"]])";
constexpr const char *k_user_norep_2_4 =
    R"([["doveadmResponse",{"norep":{"uid":"5000","gid":"5000",)"
    R"("home":"/srv/mail/norep","mail_path":"/srv/mail/norep/Maildir",)"
    R"("mail_replica":"tcp:127.0.0.1:44012","noreplicate":"yes"}},"TAG"]])";

struct Request {
  std::string path;
  std::string authorization;
  std::string content_type;
  json body;
};

// Stands in for doveadm's HTTP API: records the requests and answers what
// the test set, with "TAG" replaced by the request's tag.
class FakeDoveadm {
public:
  FakeDoveadm() {
    m_http.server().Post("/doveadm/v1", [this](const httplib::Request &request,
                                               httplib::Response &response) {
      handle(request, response);
    });
    m_http.start();
  }
  ~FakeDoveadm() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_released = true;
    }
    m_changed.notify_all();
    m_http.stop();
  }

  std::string url() const { return m_http.url(); }
  void answer(int status, std::string body) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_status = status;
    m_body = std::move(body);
  }
  // requests are held unanswered until the fake is destroyed
  void hang() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_hang = true;
  }
  bool wait_for_requests(std::size_t count) {
    std::unique_lock<std::mutex> lock(m_mutex);
    return m_changed.wait_for(lock, 20s,
                              [&] { return m_requests.size() >= count; });
  }
  std::size_t request_count() {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_requests.size();
  }
  Request last() {
    std::lock_guard<std::mutex> lock(m_mutex);
    BOOST_REQUIRE(!m_requests.empty());
    return m_requests.back();
  }

private:
  void handle(const httplib::Request &request, httplib::Response &response) {
    Request seen{request.path, request.get_header_value("Authorization"),
                 request.get_header_value("Content-Type"),
                 json::parse(request.body, nullptr, false)};
    std::string tag = "?";
    if (seen.body.is_array() && !seen.body.empty() && seen.body[0].is_array() &&
        seen.body[0].size() == 3 && seen.body[0][2].is_string())
      tag = seen.body[0][2].get<std::string>();
    std::unique_lock<std::mutex> lock(m_mutex);
    m_requests.push_back(std::move(seen));
    m_changed.notify_all();
    if (m_hang) {
      m_changed.wait_for(lock, 30s, [this] { return m_released; });
      return;
    }
    std::string body = m_body;
    const auto at = body.find("TAG");
    if (at != std::string::npos)
      body.replace(at, 3, tag);
    response.status = m_status;
    response.set_content(body, "application/json; charset=utf-8");
  }

  dovewarden::test::HttpServer m_http;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<Request> m_requests;
  int m_status = 200;
  std::string m_body = k_sync_ok;
  bool m_hang = false;
  bool m_released = false;
};

// Reads one request and closes the connection without an answer, as
// doveadm does when its process dies (the destination is down).
class SilentServer {
public:
  SilentServer() {
    std::tie(m_listener, m_port) = dovewarden::test::loopback_listener();
    m_thread = std::thread([this] { serve(); });
  }
  ~SilentServer() {
    ::shutdown(m_listener.get(), SHUT_RDWR);
    m_thread.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(m_port);
  }

private:
  void serve() {
    const dovewarden::util::Fd connection(
        ::accept(m_listener.get(), nullptr, nullptr));
    if (!connection)
      return;
    timeval timeout{10, 0};
    ::setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
                 sizeof(timeout));
    std::string request;
    char buffer[4096];
    while (!complete(request)) {
      const ssize_t got = ::recv(connection.get(), buffer, sizeof(buffer), 0);
      if (got <= 0)
        return;
      request.append(buffer, static_cast<std::size_t>(got));
    }
  }
  static bool complete(const std::string &request) {
    const auto end = request.find("\r\n\r\n");
    if (end == std::string::npos)
      return false;
    const auto field = request.find("Content-Length: ");
    const std::size_t length =
        field == std::string::npos
            ? 0
            : std::strtoul(request.c_str() + field + 16, nullptr, 10);
    return request.size() >= end + 4 + length;
  }

  dovewarden::util::Fd m_listener;
  std::uint16_t m_port = 0;
  std::thread m_thread;
};

// Answers each request on a connection of its own, then closes it, as
// doveadm does ("Connection: close"); counts the connections it accepted.
class OneRequestPerConnection {
public:
  OneRequestPerConnection() {
    std::tie(m_listener, m_port) = dovewarden::test::loopback_listener();
    m_thread = std::thread([this] { serve(); });
  }
  ~OneRequestPerConnection() {
    stop_accepting();
    m_thread.join();
    for (auto &conversation : m_conversations)
      conversation.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(m_port);
  }
  bool wait_for_accepted(std::size_t count) {
    std::unique_lock<std::mutex> lock(m_mutex);
    return m_changed.wait_for(lock, 20s, [&] { return m_accepted >= count; });
  }
  // refuses every new connection from now on
  void stop_accepting() { ::shutdown(m_listener.get(), SHUT_RDWR); }
  // closes every connection that has not sent a request yet
  void close_waiting() { m_waiting.close_all(); }

private:
  void serve() {
    for (;;) {
      const int fd = ::accept(m_listener.get(), nullptr, nullptr);
      if (fd < 0)
        return;
      m_conversations.emplace_back(
          [this, fd] { answer(dovewarden::util::Fd(fd)); });
    }
  }
  void answer(const dovewarden::util::Fd connection) {
    dovewarden::test::WaitingConnections::Waiting waiting(m_waiting,
                                                          connection.get());
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_accepted++;
    }
    m_changed.notify_all();
    timeval timeout{10, 0};
    ::setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
                 sizeof(timeout));
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos ||
           request.find("]]") == std::string::npos) {
      const ssize_t got = ::recv(connection.get(), buffer, sizeof(buffer), 0);
      if (got <= 0)
        return;
      request.append(buffer, static_cast<std::size_t>(got));
      waiting.done();
    }
    const auto tag_end = request.rfind("\"]]");
    const auto tag_start = request.rfind('"', tag_end - 1) + 1;
    std::string body = k_sync_ok;
    body.replace(body.find("TAG"), 3,
                 request.substr(tag_start, tag_end - tag_start));
    const std::string response =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Connection: close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    (void)!::send(connection.get(), response.data(), response.size(),
                  MSG_NOSIGNAL);
  }

  dovewarden::util::Fd m_listener;
  std::uint16_t m_port = 0;
  std::thread m_thread;
  std::vector<std::thread> m_conversations;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::size_t m_accepted = 0;
  dovewarden::test::WaitingConnections m_waiting;
};

DoveadmClient::Options options(const std::string &url,
                               const std::string &password = "pw") {
  DoveadmClient::Options result;
  result.url = url;
  result.password = password;
  result.timeout = 20s;
  result.connect_timeout = 5s;
  return result;
}

const json &parameters_of(const Request &request) { return request.body[0][1]; }

} // namespace

BOOST_AUTO_TEST_SUITE(doveadm_http_client)

BOOST_AUTO_TEST_CASE(
    sync_posts_parameters_2_3_and_2_4_both_take_and_returns_the_state) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  const auto state = client.sync("alice", k_dest, "old-state", false);
  BOOST_REQUIRE_MESSAGE(state.has_value(),
                        (state ? "" : state.error().message));
  BOOST_TEST(*state == k_state);

  const Request request = doveadm.last();
  BOOST_TEST(request.path == "/doveadm/v1");
  BOOST_TEST(request.authorization == "Basic ZG92ZWFkbTpwdw==");
  BOOST_TEST(request.content_type == "application/json");
  BOOST_REQUIRE(request.body.is_array());
  BOOST_REQUIRE(request.body.size() == 1);
  BOOST_REQUIRE(request.body[0].size() == 3);
  BOOST_TEST(request.body[0][0] == "sync");
  const json &parameters = parameters_of(request);
  BOOST_TEST(parameters["user"] == "alice");
  BOOST_TEST(parameters["destination"] == json::array({"tcp:replica:12345"}));
  BOOST_TEST(parameters["state"] == "old-state");
  BOOST_TEST(parameters["lockTimeout"] == 30);
  BOOST_TEST(parameters["allNamespaces"] == true);
  // 2.4 answers invalidRequest to replicatorNotify, and to the -d form
  BOOST_TEST(!parameters.contains("replicatorNotify"));
  BOOST_TEST(!parameters.contains("defaultDestination"));
  BOOST_TEST(!parameters.contains("fullSync"));
  BOOST_TEST(parameters.size() == 5u);
}

BOOST_AUTO_TEST_CASE(sync_goes_to_the_destination_it_is_given) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  BOOST_REQUIRE(client.sync("bob", "tcp:other-replica:4711", "", false));
  BOOST_TEST(parameters_of(doveadm.last())["destination"] ==
             json::array({"tcp:other-replica:4711"}));
}

BOOST_AUTO_TEST_CASE(a_full_sync_sends_fullSync_and_an_empty_state) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  const auto state = client.sync("alice", k_dest, "old-state", true);
  BOOST_REQUIRE(state);
  BOOST_TEST(*state == k_state);
  const json parameters = parameters_of(doveadm.last());
  BOOST_TEST(parameters["fullSync"] == true);
  BOOST_TEST(parameters["state"] == "");
  BOOST_TEST(!parameters.contains("replicatorNotify"));
}

BOOST_AUTO_TEST_CASE(each_request_has_its_own_tag) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  BOOST_REQUIRE(client.sync("alice", k_dest, "", false));
  const json first = doveadm.last().body[0][2];
  BOOST_REQUIRE(client.sync("alice", k_dest, "", false));
  BOOST_TEST(doveadm.last().body[0][2] != first);
}

BOOST_AUTO_TEST_CASE(exit_code_67_is_no_such_user) {
  FakeDoveadm doveadm;
  doveadm.answer(200, k_exit_67);
  DoveadmHttpClient client(options(doveadm.url()));
  const auto state = client.sync("nosuch", k_dest, "", false);
  BOOST_REQUIRE(!state);
  BOOST_TEST(static_cast<int>(state.error().kind) ==
             static_cast<int>(Kind::no_such_user));
  BOOST_TEST(state.error().exit_code == 67);
}

BOOST_AUTO_TEST_CASE(exit_code_1001_is_no_longer_a_kind_of_its_own) {
  // doveadm answers it only to replicatorNotify, which is not sent: the
  // replicator reads noreplicate from the userdb itself
  FakeDoveadm doveadm;
  doveadm.answer(200, k_exit_1001);
  DoveadmHttpClient client(options(doveadm.url()));
  const auto state = client.sync("norep", k_dest, "", false);
  BOOST_REQUIRE(!state);
  BOOST_TEST(static_cast<int>(state.error().kind) ==
             static_cast<int>(Kind::temporary));
  BOOST_TEST(state.error().exit_code == 1001);
  BOOST_TEST(state.error().message.find("noreplicate") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_invalid_request_answer_is_a_clear_protocol_failure) {
  // 2.4.1's answer to a parameter it does not take (replicatorNotify)
  FakeDoveadm doveadm;
  doveadm.answer(200,
                 R"([["error",{"type":"invalidRequest","exitCode":0},"TAG"]])");
  DoveadmHttpClient client(options(doveadm.url()));
  const auto state = client.sync("alice", k_dest, "", false);
  BOOST_REQUIRE(!state);
  BOOST_TEST(static_cast<int>(state.error().kind) ==
             static_cast<int>(Kind::protocol));
  BOOST_TEST(state.error().message.rfind("doveadm sync: error invalidRequest "
                                         "(doveadm refused a parameter",
                                         0) == 0);
  const auto fields = client.user_fields("alice");
  BOOST_REQUIRE(!fields);
  BOOST_TEST(static_cast<int>(fields.error().kind) ==
             static_cast<int>(Kind::protocol));
  BOOST_TEST(fields.error().message.rfind("doveadm user: error invalidRequest",
                                          0) == 0);
}

BOOST_AUTO_TEST_CASE(exit_code_64_usage_is_protocol) {
  FakeDoveadm doveadm;
  doveadm.answer(200, R"([["error",{"type":"exitCode","exitCode":64},"TAG"]])");
  DoveadmHttpClient client(options(doveadm.url()));
  const auto state = client.sync("alice", k_dest, "", false);
  BOOST_REQUIRE(!state);
  BOOST_TEST(static_cast<int>(state.error().kind) ==
             static_cast<int>(Kind::protocol));
  BOOST_TEST(state.error().exit_code == 64);
}

BOOST_AUTO_TEST_CASE(other_exit_codes_are_temporary) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  for (const int code : {75, 2, 1}) {
    doveadm.answer(200, R"([["error",{"type":"exitCode", "exitCode":)" +
                            std::to_string(code) + R"(},"TAG"]])");
    const auto state = client.sync("alice", k_dest, "", false);
    BOOST_REQUIRE(!state);
    BOOST_TEST(static_cast<int>(state.error().kind) ==
               static_cast<int>(Kind::temporary));
    BOOST_TEST(state.error().exit_code == code);
    BOOST_TEST(state.error().message.find(std::to_string(code)) !=
               std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_connection_closed_without_an_answer_is_temporary) {
  SilentServer doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  const auto state = client.sync("alice", k_dest, "", false);
  BOOST_REQUIRE(!state);
  BOOST_TEST(static_cast<int>(state.error().kind) ==
             static_cast<int>(Kind::temporary));
  BOOST_TEST(state.error().message.find("without an answer") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(doveadm_not_listening_is_unreachable) {
  DoveadmHttpClient client(options(
      "http://127.0.0.1:" + std::to_string(dovewarden::test::free_port())));
  const auto state = client.sync("alice", k_dest, "", false);
  BOOST_REQUIRE(!state);
  BOOST_TEST(static_cast<int>(state.error().kind) ==
             static_cast<int>(Kind::unreachable));
}

BOOST_AUTO_TEST_CASE(http_401_and_403_are_auth) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  for (const int status : {401, 403}) {
    doveadm.answer(status, "");
    const auto state = client.sync("alice", k_dest, "", false);
    BOOST_REQUIRE(!state);
    BOOST_TEST(static_cast<int>(state.error().kind) ==
               static_cast<int>(Kind::auth));
    const auto users = client.list_users("*");
    BOOST_REQUIRE(!users);
    BOOST_TEST(static_cast<int>(users.error().kind) ==
               static_cast<int>(Kind::auth));
  }
}

BOOST_AUTO_TEST_CASE(http_5xx_is_temporary) {
  FakeDoveadm doveadm;
  doveadm.answer(503, "busy");
  DoveadmHttpClient client(options(doveadm.url()));
  const auto state = client.sync("alice", k_dest, "", false);
  BOOST_REQUIRE(!state);
  BOOST_TEST(static_cast<int>(state.error().kind) ==
             static_cast<int>(Kind::temporary));
}

BOOST_AUTO_TEST_CASE(garbage_and_unexpected_shapes_are_protocol) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  const std::vector<std::pair<int, std::string>> answers = {
      {200, "garbage"},
      {200, ""},
      {200, R"({"state":"x"})"},
      {200, R"([["doveadmResponse",[{"state":"x"}]]])"},
      {200, R"([["doveadmResponse",[{"state":"x"}],"not-our-tag"]])"},
      {200, R"([["doveadmResponse",[],"TAG"]])"},
      {200, R"([["doveadmResponse",[{"state":7}],"TAG"]])"},
      {200, R"([["error",{"type":"unknownMethod", "exitCode":0},"TAG"]])"},
      {200, R"([["surprise",{},"TAG"]])"},
      {400, "JSON parse error: Invalid data as value"},
      {404, ""},
  };
  for (const auto &[status, body] : answers) {
    BOOST_TEST_CONTEXT(status << " " << body) {
      doveadm.answer(status, body);
      const auto state = client.sync("alice", k_dest, "", false);
      BOOST_REQUIRE(!state);
      BOOST_TEST(static_cast<int>(state.error().kind) ==
                 static_cast<int>(Kind::protocol));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_timeout_is_temporary_and_says_so) {
  FakeDoveadm doveadm;
  doveadm.hang();
  auto settings = options(doveadm.url());
  settings.timeout = 300ms;
  DoveadmHttpClient client(settings);
  const auto state = client.sync("alice", k_dest, "", false);
  BOOST_REQUIRE(!state);
  BOOST_TEST(static_cast<int>(state.error().kind) ==
             static_cast<int>(Kind::temporary));
  BOOST_TEST(state.error().message.find("timed out") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(list_users_sends_the_mask_and_returns_the_user_list) {
  FakeDoveadm doveadm;
  doveadm.answer(200, k_user_list);
  DoveadmHttpClient client(options(doveadm.url()));
  const auto users = client.list_users("*");
  BOOST_REQUIRE(users);
  BOOST_TEST(*users == (std::vector<std::string>{"alice", "bob", "norep"}),
             boost::test_tools::per_element());
  const Request request = doveadm.last();
  BOOST_TEST(request.body[0][0] == "user");
  BOOST_TEST(parameters_of(request) == json({{"userMask", "*"}}));

  doveadm.answer(200, R"([["doveadmResponse",{"userList":[]},"TAG"]])");
  const auto none = client.list_users("zz*");
  BOOST_REQUIRE(none);
  BOOST_TEST(none->empty());
}

BOOST_AUTO_TEST_CASE(list_users_of_a_plain_name_answers_that_user_or_none) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  // without a wildcard doveadm looks the user up instead of listing
  doveadm.answer(200, k_user_alice);
  const auto alice = client.list_users("alice");
  BOOST_REQUIRE(alice);
  BOOST_TEST(*alice == std::vector<std::string>{"alice"},
             boost::test_tools::per_element());
  doveadm.answer(200, k_exit_67);
  const auto nobody = client.list_users("nosuch");
  BOOST_REQUIRE(nobody);
  BOOST_TEST(nobody->empty());
  // a wildcard mask is never answered 67: something else is wrong
  const auto odd = client.list_users("no*");
  BOOST_REQUIRE(!odd);
  BOOST_TEST(static_cast<int>(odd.error().kind) ==
             static_cast<int>(Kind::no_such_user));
  doveadm.answer(200, R"([["doveadmResponse",{"userList":[1]},"TAG"]])");
  const auto bad = client.list_users("*");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(static_cast<int>(bad.error().kind) ==
             static_cast<int>(Kind::protocol));
}

BOOST_AUTO_TEST_CASE(user_fields_asks_for_one_user_and_returns_its_fields) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  // 2.3.19's answer
  doveadm.answer(200, k_user_alice);
  const auto alice = client.user_fields("alice");
  BOOST_REQUIRE_MESSAGE(alice.has_value(),
                        (alice ? "" : alice.error().message));
  const Request request = doveadm.last();
  BOOST_TEST(request.body[0][0] == "user");
  BOOST_TEST(parameters_of(request) == json({{"userMask", "alice"}}));
  BOOST_TEST(*alice == (dovewarden::replication::UserdbFields{
                           {"uid", "5000"},
                           {"gid", "5000"},
                           {"home", "/srv/mail/alice"},
                           {"mail", "maildir:~/Maildir"}}));
  // 2.4.1's, with userdb extra fields
  doveadm.answer(200, k_user_norep_2_4);
  const auto norep = client.user_fields("norep");
  BOOST_REQUIRE(norep);
  BOOST_TEST(norep->at("noreplicate") == "yes");
  BOOST_TEST(norep->at("mail_replica") == "tcp:127.0.0.1:44012");
  BOOST_TEST(norep->at("mail_path") == "/srv/mail/norep/Maildir");
}

BOOST_AUTO_TEST_CASE(user_fields_of_an_unknown_user_is_no_such_user) {
  FakeDoveadm doveadm;
  doveadm.answer(200, k_exit_67);
  DoveadmHttpClient client(options(doveadm.url()));
  const auto fields = client.user_fields("nosuch");
  BOOST_REQUIRE(!fields);
  BOOST_TEST(static_cast<int>(fields.error().kind) ==
             static_cast<int>(Kind::no_such_user));
  BOOST_TEST(fields.error().exit_code == 67);
  // a failing userdb is temporary
  doveadm.answer(200, k_exit_75);
  BOOST_TEST(static_cast<int>(client.user_fields("alice").error().kind) ==
             static_cast<int>(Kind::temporary));
}

BOOST_AUTO_TEST_CASE(user_fields_refuses_masks_and_odd_answers) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  for (const char *user : {"*", "al?ce", ""}) {
    const auto fields = client.user_fields(user);
    BOOST_REQUIRE(!fields);
    BOOST_TEST(static_cast<int>(fields.error().kind) ==
               static_cast<int>(Kind::no_such_user));
    BOOST_TEST(fields.error().message.rfind("doveadm user: ", 0) == 0);
  }
  BOOST_TEST(doveadm.request_count() == 0u);
  for (const char *answer : {
           R"([["doveadmResponse",{"bob":{"uid":"5000"}},"TAG"]])",
           R"([["doveadmResponse",{"alice":"5000"},"TAG"]])",
           R"([["doveadmResponse",{"userList":["alice"]},"TAG"]])",
           R"([["doveadmResponse",[],"TAG"]])",
       }) {
    BOOST_TEST_CONTEXT(answer) {
      doveadm.answer(200, answer);
      const auto fields = client.user_fields("alice");
      BOOST_REQUIRE(!fields);
      BOOST_TEST(static_cast<int>(fields.error().kind) ==
                 static_cast<int>(Kind::protocol));
    }
  }
}

BOOST_AUTO_TEST_CASE(an_api_key_is_sent_as_x_dovecot_api) {
  FakeDoveadm doveadm;
  auto settings = options(doveadm.url(), "");
  settings.api_key = "sekrit";
  DoveadmHttpClient client(settings);
  BOOST_REQUIRE(client.sync("alice", k_dest, "", false));
  BOOST_TEST(doveadm.last().authorization == "X-Dovecot-API c2Vrcml0");
}

BOOST_AUTO_TEST_CASE(a_user_name_doveadm_would_take_for_a_mask_is_not_sent) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  for (const char *user : {"*", "al?ce", ""}) {
    const auto state = client.sync(user, k_dest, "", false);
    BOOST_REQUIRE(!state);
    BOOST_TEST(static_cast<int>(state.error().kind) ==
               static_cast<int>(Kind::no_such_user));
  }
  BOOST_TEST(doveadm.request_count() == 0u);
}

BOOST_AUTO_TEST_CASE(cancel_ends_a_hanging_request_and_every_later_one) {
  FakeDoveadm doveadm;
  doveadm.hang();
  auto settings = options(doveadm.url());
  settings.timeout = 60s;
  DoveadmHttpClient client(settings);
  auto running = std::async(std::launch::async, [&] {
    return client.sync("alice", k_dest, "", false);
  });
  BOOST_REQUIRE(doveadm.wait_for_requests(1));
  client.cancel();
  // curl looks at the flag about once a second while nothing moves
  BOOST_REQUIRE(running.wait_for(20s) == std::future_status::ready);
  const auto state = running.get();
  BOOST_REQUIRE(!state);
  BOOST_TEST(static_cast<int>(state.error().kind) ==
             static_cast<int>(Kind::temporary));
  BOOST_TEST(state.error().message.find("cancelled") != std::string::npos);

  BOOST_TEST(!client.list_users("*"));
  BOOST_TEST(!client.sync("bob", k_dest, "", false));
  BOOST_TEST(doveadm.request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(several_threads_sync_at_once) {
  FakeDoveadm doveadm;
  DoveadmHttpClient client(options(doveadm.url()));
  std::vector<std::future<int>> workers;
  for (int i = 0; i < 4; i++)
    workers.push_back(std::async(std::launch::async, [&client, i] {
      int synced = 0;
      for (int j = 0; j < 5; j++)
        synced +=
            client.sync("user" + std::to_string(i), k_dest, "", false) ? 1 : 0;
      return synced;
    }));
  for (auto &worker : workers)
    BOOST_TEST(worker.get() == 5);
  BOOST_TEST(doveadm.request_count() == 20u);
}

BOOST_AUTO_TEST_CASE(no_failure_message_holds_the_password_or_the_api_key) {
  const std::string password = "Pa55-unlikely-secret";
  const std::string api_key = "Key-unlikely-secret";
  const std::vector<std::string> secrets = {
      password, api_key, "ZG92ZWFkbTpQYTU1LXVubGlrZWx5LXNlY3JldA==",
      "S2V5LXVubGlrZWx5LXNlY3JldA=="};
  std::vector<std::string> messages;
  for (const bool use_key : {false, true}) {
    FakeDoveadm doveadm;
    auto settings = options(doveadm.url(), use_key ? "" : password);
    settings.api_key = use_key ? api_key : "";
    settings.timeout = 300ms;
    DoveadmHttpClient client(settings);
    const std::vector<std::pair<int, std::string>> answers = {
        {401, ""},          {403, "denied"},  {500, ""},
        {200, "garbage"},   {200, k_exit_75}, {200, k_exit_67},
        {200, k_exit_1001},
    };
    for (const auto &[status, body] : answers) {
      doveadm.answer(status, body);
      const auto state = client.sync("alice", k_dest, "", false);
      BOOST_REQUIRE(!state);
      messages.push_back(state.error().message);
    }
    doveadm.hang();
    const auto timed_out = client.sync("alice", k_dest, "", false);
    BOOST_REQUIRE(!timed_out);
    messages.push_back(timed_out.error().message);

    SilentServer silent;
    settings.url = silent.url();
    const auto closed =
        DoveadmHttpClient(settings).sync("alice", k_dest, "", false);
    BOOST_REQUIRE(!closed);
    messages.push_back(closed.error().message);
  }
  for (const auto &message : messages) {
    BOOST_TEST_CONTEXT(message) {
      BOOST_TEST(!message.empty());
      for (const auto &secret : secrets)
        BOOST_TEST(message.find(secret) == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused) {
  using dovewarden::util::ConfigError;
  BOOST_CHECK_THROW(DoveadmHttpClient(options("ftp://127.0.0.1:21")),
                    ConfigError);
  BOOST_CHECK_THROW(DoveadmHttpClient(options("not a url")), ConfigError);
  BOOST_CHECK_THROW(
      DoveadmHttpClient(options("http://doveadm:pw@127.0.0.1:80")),
      ConfigError);
  BOOST_CHECK_THROW(DoveadmHttpClient(options("http://127.0.0.1:80", "")),
                    ConfigError);
  auto both = options("http://127.0.0.1:80");
  both.api_key = "key";
  BOOST_CHECK_THROW(DoveadmHttpClient{both}, ConfigError);
}

BOOST_AUTO_TEST_CASE(the_next_request_goes_on_a_connection_opened_ahead) {
  OneRequestPerConnection doveadm;
  const auto client = DoveadmClient::open(options(doveadm.url()));
  const auto first = client->sync("alice", k_dest, "", false);
  BOOST_REQUIRE_MESSAGE(first.has_value(),
                        (first ? "" : first.error().message));
  // after the answer, the next request's connection is made
  BOOST_REQUIRE(doveadm.wait_for_accepted(2));
  doveadm.stop_accepting();
  const auto second = client->sync("bob", k_dest, "", false);
  BOOST_REQUIRE_MESSAGE(second.has_value(),
                        (second ? "" : second.error().message));
  BOOST_TEST(*second == k_state);
}

BOOST_AUTO_TEST_CASE(
    a_connection_opened_ahead_that_doveadm_closed_is_not_used) {
  OneRequestPerConnection doveadm;
  const auto client = DoveadmClient::open(options(doveadm.url()));
  BOOST_REQUIRE(client->sync("alice", k_dest, "", false).has_value());
  BOOST_REQUIRE(doveadm.wait_for_accepted(2));
  doveadm.close_waiting();
  const auto second = client->sync("bob", k_dest, "", false);
  BOOST_REQUIRE_MESSAGE(second.has_value(),
                        (second ? "" : second.error().message));
}

BOOST_AUTO_TEST_CASE(the_api_path_is_added_once) {
  for (const std::string url :
       {"http://HOST/", "http://HOST", "http://HOST/doveadm/v1"}) {
    FakeDoveadm doveadm;
    std::string with_port = url;
    with_port.replace(with_port.find("HOST"), 4,
                      doveadm.url().substr(std::string("http://").size()));
    DoveadmHttpClient client(options(with_port));
    BOOST_TEST_CONTEXT(url) {
      BOOST_TEST(client.sync("alice", k_dest, "", false).has_value());
      BOOST_TEST(doveadm.request_count() == 1u);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
