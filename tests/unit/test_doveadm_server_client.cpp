// The client of doveadm's own protocol against a stand-in for doveadm's
// server socket: the handshake and the answers are what Dovecot 2.3.19's and
// 2.4.1's doveadm servers sent (tests/integration exercise the real one).
#include "FreePort.hpp"
#include "Wait.hpp"
#include "WaitingConnections.hpp"
#include "replication/DoveadmClient.hpp"
#include "replication/DoveadmServerClient.hpp"
#include "util/Base64.hpp"
#include "util/ConfigError.hpp"
#include "util/Fd.hpp"

#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using dovewarden::replication::DoveadmClient;
using dovewarden::replication::DoveadmFailure;
using dovewarden::replication::DoveadmServerClient;
using dovewarden::util::ConfigError;
using dovewarden::util::Fd;
using Kind = DoveadmFailure::Kind;
using namespace std::chrono_literals;

namespace {

constexpr const char *k_state = "AQAAAJjhgRNdUgxrhi8AAIPsw3VdUgxrAQAAAA==";
constexpr const char *k_handshake = "VERSION\tdoveadm-server\t1\t0";
constexpr const char *k_dest = "tcp:replica.example.test:12345";
// doveadm user NAME's output on the doveadm protocol: the HTTP API's JSON
constexpr const char *k_user_alice =
    R"({"alice":{"uid":"5000","gid":"5000","home":"/srv/mail/alice",)"
    R"("mail":"maildir:~/Maildir"}})"
    "\n+\n";
constexpr const char *k_user_bob_2_4 =
    R"({"bob":{"uid":"5000","gid":"5000","home":"/srv/mail/bob",)"
    R"("mail_path":"/srv/mail/bob/Maildir",)"
    R"("mail_replica":"tcp:127.0.0.1:44012","noreplicate":"yes"}})"
    "\n+\n";

// Stands in for doveadm's server socket, on a unix socket or on 127.0.0.1:
// asks for a password if it has one, records each connection's lines and
// answers every command with the bytes the test set.
class FakeDoveadmServer {
public:
  explicit FakeDoveadmServer(bool tcp = false, std::string password = "")
      : m_password(std::move(password)) {
    if (tcp) {
      auto [listener, port] = dovewarden::test::loopback_listener();
      m_listener = std::move(listener);
      m_url = "tcp:127.0.0.1:" + std::to_string(port);
    } else {
      char dir[] = "/tmp/dw-doveadm-XXXXXX";
      BOOST_REQUIRE(::mkdtemp(dir) != nullptr);
      m_dir = dir;
      m_path = m_dir + "/doveadm-server";
      m_listener.reset(::socket(AF_UNIX, SOCK_STREAM, 0));
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::snprintf(address.sun_path, sizeof(address.sun_path), "%s",
                    m_path.c_str());
      BOOST_REQUIRE(::bind(m_listener.get(),
                           reinterpret_cast<sockaddr *>(&address),
                           sizeof(address)) == 0);
      BOOST_REQUIRE(::listen(m_listener.get(), 16) == 0);
      m_url = "unix:" + m_path;
    }
    m_thread = std::thread([this] { serve(); });
  }
  ~FakeDoveadmServer() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_released = true;
    }
    m_changed.notify_all();
    ::shutdown(m_listener.get(), SHUT_RDWR);
    m_thread.join();
    for (auto &conversation : m_conversations)
      conversation.join();
    if (!m_path.empty()) {
      ::unlink(m_path.c_str());
      ::rmdir(m_dir.c_str());
    }
  }

  const std::string &url() const { return m_url; }
  const std::string &path() const { return m_path; }
  // what follows each command ("" closes the connection without a word)
  void answer(std::string bytes) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_answer = std::move(bytes);
  }
  // commands are held unanswered until the fake is destroyed
  void hang() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_hang = true;
  }
  bool wait_for_commands(std::size_t count) {
    std::unique_lock<std::mutex> lock(m_mutex);
    return m_changed.wait_for(lock, 20s,
                              [&] { return m_commands.size() >= count; });
  }
  // connections that have passed the handshake, with or without a command
  bool wait_for_greeted(std::size_t count) {
    std::unique_lock<std::mutex> lock(m_mutex);
    return m_changed.wait_for(lock, 20s, [&] { return m_greeted >= count; });
  }
  // refuses every new connection from now on
  void stop_accepting() { ::shutdown(m_listener.get(), SHUT_RDWR); }
  // closes every connection that waits for its command, as doveadm's
  // processes do when Dovecot stops
  void close_waiting() { m_waiting.close_all(); }
  // every line each connection sent, the handshake first
  std::vector<std::vector<std::string>> connections() {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_connections;
  }
  std::string last_command() {
    std::lock_guard<std::mutex> lock(m_mutex);
    BOOST_REQUIRE(!m_commands.empty());
    return m_commands.back();
  }

private:
  // one thread per connection, like doveadm's processes
  void serve() {
    for (;;) {
      const int fd = ::accept(m_listener.get(), nullptr, nullptr);
      if (fd < 0)
        return;
      m_conversations.emplace_back([this, fd] {
        const Fd connection(fd);
        converse(fd);
      });
    }
  }

  void converse(int fd) {
    std::vector<std::string> lines;
    std::string buffer;
    auto line = [&](std::string &out) {
      for (;;) {
        const auto end = buffer.find('\n');
        if (end != std::string::npos) {
          out = buffer.substr(0, end);
          buffer.erase(0, end + 1);
          lines.push_back(out);
          return true;
        }
        char chunk[4096];
        const ssize_t got = ::recv(fd, chunk, sizeof(chunk), 0);
        if (got <= 0)
          return false;
        buffer.append(chunk, static_cast<std::size_t>(got));
      }
    };
    auto say = [fd](const std::string &text) {
      (void)!::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    };
    auto record = [&] {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_connections.push_back(lines);
    };
    std::string text;
    if (!line(text) || text != k_handshake)
      return record();
    if (m_password.empty()) {
      say("+\n");
    } else {
      say("-\n");
      const std::string plain = std::string("\0doveadm\0", 9) + m_password;
      if (!line(text) ||
          text != "PLAIN\t" + dovewarden::util::base64_encode(plain)) {
        say("-\n");
        return record();
      }
      say("+\n");
    }
    dovewarden::test::WaitingConnections::Waiting waiting(m_waiting, fd);
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_greeted++;
    }
    m_changed.notify_all();
    const bool commanded = line(text);
    waiting.done();
    if (!commanded)
      return record();
    std::unique_lock<std::mutex> lock(m_mutex);
    m_connections.push_back(lines);
    m_commands.push_back(text);
    m_changed.notify_all();
    if (m_hang) {
      m_changed.wait_for(lock, 30s, [this] { return m_released; });
      return;
    }
    const std::string answer = m_answer;
    lock.unlock();
    say(answer);
  }

  std::string m_password;
  std::string m_dir, m_path, m_url;
  Fd m_listener;
  std::thread m_thread;
  std::vector<std::thread> m_conversations;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::string m_answer = std::string(k_state) + "\t\n+\n";
  bool m_hang = false;
  bool m_released = false;
  std::size_t m_greeted = 0;
  dovewarden::test::WaitingConnections m_waiting;
  std::vector<std::vector<std::string>> m_connections;
  std::vector<std::string> m_commands;
};

DoveadmClient::Options options(const std::string &url,
                               const std::string &password = "") {
  DoveadmClient::Options result;
  result.url = url;
  result.password = password;
  result.timeout = 5s;
  return result;
}

} // namespace

BOOST_AUTO_TEST_SUITE(doveadm_server_client)

BOOST_AUTO_TEST_CASE(sync_sends_options_2_3_and_2_4_both_take) {
  FakeDoveadmServer doveadm;
  const auto client = DoveadmClient::open(options(doveadm.url()));
  const auto state = client->sync("alice", k_dest, "old-state", false);
  BOOST_REQUIRE_MESSAGE(state.has_value(),
                        (state ? "" : state.error().message));
  BOOST_TEST(*state == k_state);
  const auto connections = doveadm.connections();
  BOOST_REQUIRE(connections.size() == 1u);
  // the handshake, then one command: <flags> <user> sync <options> <dest>;
  // no -U, which 2.4 answers -USAGE
  BOOST_TEST(connections[0].size() == 2u);
  BOOST_TEST(connections[0][0] == k_handshake);
  BOOST_TEST(connections[0][1] == "\talice\tsync\t-N\t-l\t30\t-s\told-state"
                                  "\ttcp:replica.example.test:12345");
  BOOST_REQUIRE(client->sync("bob", "tcp:other:4711", "", false).has_value());
  BOOST_TEST(doveadm.last_command() ==
             "\tbob\tsync\t-N\t-l\t30\t-s\t\ttcp:other:4711");
}

BOOST_AUTO_TEST_CASE(a_full_sync_sends_f_and_an_empty_state) {
  FakeDoveadmServer doveadm;
  const auto client = DoveadmClient::open(options(doveadm.url()));
  BOOST_REQUIRE(client->sync("alice", k_dest, "old-state", true).has_value());
  BOOST_TEST(doveadm.last_command() == "\talice\tsync\t-N\t-l\t30\t-f\t-s\t\t"
                                       "tcp:replica.example.test:12345");
}

BOOST_AUTO_TEST_CASE(fields_are_tab_escaped_both_ways) {
  FakeDoveadmServer doveadm;
  // a state with every escaped character, as doveadm's print server sends it
  doveadm.answer("a\001tb\001nc\001rd\0011e\t\n+\n");
  const auto client = DoveadmClient::open(options(doveadm.url()));
  const auto state = client->sync("we\tird", k_dest, "", false);
  BOOST_REQUIRE(state.has_value());
  BOOST_TEST(*state == "a\tb\nc\rd\001e");
  BOOST_TEST(doveadm.last_command().rfind("\twe\001tird\tsync\t", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(doveadms_failure_names_map_to_kinds) {
  FakeDoveadmServer doveadm;
  const auto client = DoveadmClient::open(options(doveadm.url()));
  const std::pair<const char *, Kind> cases[] = {
      {"\n-NOUSER\n", Kind::no_such_user},
      // only answered to -U, which is not sent
      {"\n-NOREPLICATE\n", Kind::temporary},
      // 2.4's answer to an option it does not take (-U)
      {"\n-USAGE\n", Kind::protocol},
      {"\n-TEMPFAIL\n", Kind::temporary},
      {"\n-UNKNOWN\n", Kind::temporary},
      {"\n-\n", Kind::temporary},
      {"garbage\nmore garbage\n", Kind::protocol},
      {"", Kind::temporary}, // closed without an answer
  };
  for (const auto &[answer, kind] : cases) {
    BOOST_TEST_CONTEXT(answer) {
      doveadm.answer(answer);
      const auto state = client->sync("alice", k_dest, "", false);
      BOOST_REQUIRE(!state);
      BOOST_TEST(static_cast<int>(state.error().kind) ==
                 static_cast<int>(kind));
      BOOST_TEST(!state.error().message.empty());
    }
  }
  doveadm.answer("\n-NOUSER\n");
  BOOST_TEST(client->sync("alice", k_dest, "", false).error().exit_code == 67);
  doveadm.answer("\n+\n");
  BOOST_TEST(
      static_cast<int>(client->sync("alice", k_dest, "", false).error().kind) ==
      static_cast<int>(Kind::protocol)); // ok, but no state
}

BOOST_AUTO_TEST_CASE(a_password_is_sent_when_asked_for_and_never_shown) {
  const std::string password = "s3cret-doveadm";
  FakeDoveadmServer doveadm(false, password);
  BOOST_TEST(DoveadmClient::open(options(doveadm.url(), password))
                 ->sync("alice", k_dest, "", false)
                 .has_value());

  const auto none = DoveadmClient::open(options(doveadm.url()))
                        ->sync("alice", k_dest, "", false);
  BOOST_REQUIRE(!none);
  BOOST_TEST(static_cast<int>(none.error().kind) ==
             static_cast<int>(Kind::auth));
  BOOST_TEST(none.error().message.find("DOVEWARDEN_DOVEADM_PASSWORD") !=
             std::string::npos);

  const auto wrong = DoveadmClient::open(options(doveadm.url(), "wrong-one"))
                         ->sync("alice", k_dest, "", false);
  BOOST_REQUIRE(!wrong);
  BOOST_TEST(static_cast<int>(wrong.error().kind) ==
             static_cast<int>(Kind::auth));
  BOOST_TEST(wrong.error().message.find("wrong-one") == std::string::npos);
  BOOST_TEST(wrong.error().message.find(password) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_tcp_listener_is_reached_with_the_password) {
  FakeDoveadmServer doveadm(true, "pw");
  const auto client = DoveadmClient::open(options(doveadm.url(), "pw"));
  const auto state = client->sync("alice", k_dest, "", false);
  BOOST_REQUIRE_MESSAGE(state.has_value(),
                        (state ? "" : state.error().message));
  BOOST_TEST(*state == k_state);
}

BOOST_AUTO_TEST_CASE(the_next_command_finds_its_connection_ready) {
  FakeDoveadmServer doveadm;
  const auto client = DoveadmClient::open(options(doveadm.url()));
  BOOST_REQUIRE(client->sync("alice", k_dest, "", false).has_value());
  // after the answer, the next command's connection is opened and greeted
  BOOST_REQUIRE(doveadm.wait_for_greeted(2));
  doveadm.stop_accepting();
  const auto state = client->sync("bob", k_dest, "", false);
  BOOST_REQUIRE_MESSAGE(state.has_value(),
                        (state ? "" : state.error().message));
  BOOST_TEST(doveadm.last_command().rfind("\tbob\tsync\t", 0) == 0u);
  const auto connections = doveadm.connections();
  BOOST_REQUIRE(connections.size() == 2u);
  BOOST_TEST(connections[1].size() == 2u); // the handshake, then bob's sync
  BOOST_TEST(connections[1][0] == k_handshake);
}

BOOST_AUTO_TEST_CASE(a_ready_connection_doveadm_closed_is_not_used) {
  FakeDoveadmServer doveadm;
  const auto client = DoveadmClient::open(options(doveadm.url()));
  BOOST_REQUIRE(client->sync("alice", k_dest, "", false).has_value());
  BOOST_REQUIRE(doveadm.wait_for_greeted(2));
  doveadm.close_waiting(); // as doveadm's processes do when Dovecot stops
  const auto state = client->sync("bob", k_dest, "", false);
  BOOST_REQUIRE_MESSAGE(state.has_value(),
                        (state ? "" : state.error().message));
  BOOST_TEST(doveadm.last_command().rfind("\tbob\tsync\t", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(a_ready_connection_older_than_its_lifetime_is_not_used) {
  FakeDoveadmServer doveadm;
  auto brief = options(doveadm.url());
  brief.ready_connection_lifetime = 0ms;
  const auto client = DoveadmClient::open(brief);
  BOOST_REQUIRE(client->sync("alice", k_dest, "", false).has_value());
  BOOST_REQUIRE(doveadm.wait_for_greeted(2));
  // the lifetime has to pass on the clock, however short
  std::this_thread::sleep_for(5ms);
  doveadm.stop_accepting();
  // too old: it connects anew, and doveadm takes no new connection now
  BOOST_TEST(!client->sync("bob", k_dest, "", false).has_value());
}

BOOST_AUTO_TEST_CASE(a_ready_connection_is_closed_when_its_lifetime_ends) {
  FakeDoveadmServer doveadm;
  auto brief = options(doveadm.url());
  brief.ready_connection_lifetime = 100ms;
  const auto client = DoveadmClient::open(brief);
  BOOST_REQUIRE(client->sync("alice", k_dest, "", false).has_value());
  BOOST_REQUIRE(doveadm.wait_for_greeted(2));
  // the fake records a connection when it ends: alice's, then the unused one
  dovewarden::test::wait_until(
      [&] { return doveadm.connections().size() >= 2; }, 5s);
  const auto connections = doveadm.connections();
  BOOST_REQUIRE(connections.size() == 2u);
  BOOST_TEST(connections[1] == std::vector<std::string>{k_handshake},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_socket_made_anew_at_the_path_is_used_not_the_old_one) {
  FakeDoveadmServer before;
  const auto client = DoveadmClient::open(options(before.url()));
  BOOST_REQUIRE(client->sync("alice", k_dest, "", false).has_value());
  BOOST_REQUIRE(before.wait_for_greeted(2));
  // Dovecot started anew: another socket at the same path
  FakeDoveadmServer after;
  BOOST_REQUIRE(::rename(after.path().c_str(), before.path().c_str()) == 0);
  BOOST_REQUIRE(client->sync("bob", k_dest, "", false).has_value());
  BOOST_TEST(after.last_command().rfind("\tbob\tsync\t", 0) == 0u);
  BOOST_TEST(before.last_command().rfind("\talice\tsync\t", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(nothing_listening_is_unreachable) {
  auto missing = options("unix:/nonexistent/dovewarden/doveadm-server");
  const auto state =
      DoveadmClient::open(missing)->sync("alice", k_dest, "", false);
  BOOST_REQUIRE(!state);
  BOOST_TEST(static_cast<int>(state.error().kind) ==
             static_cast<int>(Kind::unreachable));
  BOOST_TEST(state.error().message.find("/nonexistent/dovewarden") !=
             std::string::npos);
  const auto closed =
      options("tcp:127.0.0.1:" + std::to_string(dovewarden::test::free_port()),
              "secret");
  const auto fields = DoveadmClient::open(closed)->user_fields("alice");
  BOOST_REQUIRE(!fields);
  BOOST_TEST(static_cast<int>(fields.error().kind) ==
             static_cast<int>(Kind::unreachable));
}

BOOST_AUTO_TEST_CASE(list_users_reads_the_user_list_or_asks_for_one_name) {
  FakeDoveadmServer doveadm;
  const auto client = DoveadmClient::open(options(doveadm.url()));
  doveadm.answer(R"({"userList":["alice","bob","n\u00f6rep"]})"
                 "\n+\n");
  const auto all = client->list_users("*");
  BOOST_REQUIRE_MESSAGE(all.has_value(), (all ? "" : all.error().message));
  BOOST_TEST(*all == (std::vector<std::string>{"alice", "bob", "n\xc3\xb6rep"}),
             boost::test_tools::per_element());
  BOOST_TEST(doveadm.last_command() == "\t\tuser\t*");

  doveadm.answer(k_user_alice);
  BOOST_TEST(*client->list_users("alice") == std::vector<std::string>{"alice"},
             boost::test_tools::per_element());
  doveadm.answer("\n-NOUSER\n");
  BOOST_TEST(client->list_users("nobody")->empty());
  BOOST_TEST(!client->list_users("no*"));
}

BOOST_AUTO_TEST_CASE(user_fields_asks_for_one_user_and_reads_its_fields) {
  FakeDoveadmServer doveadm;
  const auto client = DoveadmClient::open(options(doveadm.url()));
  doveadm.answer(k_user_alice);
  const auto alice = client->user_fields("alice");
  BOOST_REQUIRE_MESSAGE(alice.has_value(),
                        (alice ? "" : alice.error().message));
  BOOST_TEST(doveadm.last_command() == "\t\tuser\talice");
  BOOST_TEST(*alice == (dovewarden::replication::UserdbFields{
                           {"uid", "5000"},
                           {"gid", "5000"},
                           {"home", "/srv/mail/alice"},
                           {"mail", "maildir:~/Maildir"}}));
  doveadm.answer(k_user_bob_2_4);
  const auto bob = client->user_fields("bob");
  BOOST_REQUIRE(bob);
  BOOST_TEST(bob->at("mail_replica") == "tcp:127.0.0.1:44012");
  BOOST_TEST(bob->at("noreplicate") == "yes");
}

BOOST_AUTO_TEST_CASE(user_fields_failures_map_to_kinds) {
  FakeDoveadmServer doveadm;
  const auto client = DoveadmClient::open(options(doveadm.url()));
  const std::pair<const char *, Kind> cases[] = {
      // what 2.3.19 and 2.4.1 answer for a user the userdb does not know
      {"{\"nosuch\":{\"error\":\"userdb lookup: user nosuch doesn't "
       "exist\"}}\n-NOUSER\n",
       Kind::no_such_user},
      {"\n-TEMPFAIL\n", Kind::temporary},
      {"not json\n+\n", Kind::protocol},
      {"{\"someone\":{\"uid\":\"1\"}}\n+\n", Kind::protocol},
      {"", Kind::temporary}, // closed without an answer
  };
  for (const auto &[answer, kind] : cases) {
    BOOST_TEST_CONTEXT(answer) {
      doveadm.answer(answer);
      const auto fields = client->user_fields("nosuch");
      BOOST_REQUIRE(!fields);
      BOOST_TEST(static_cast<int>(fields.error().kind) ==
                 static_cast<int>(kind));
      BOOST_TEST(!fields.error().message.empty());
    }
  }
  const auto mask = client->user_fields("a*");
  BOOST_REQUIRE(!mask);
  BOOST_TEST(static_cast<int>(mask.error().kind) ==
             static_cast<int>(Kind::no_such_user));
  BOOST_TEST(doveadm.last_command() == "\t\tuser\tnosuch"); // not sent
}

BOOST_AUTO_TEST_CASE(a_timeout_and_cancel_end_a_hanging_command) {
  FakeDoveadmServer doveadm;
  doveadm.hang();
  auto quick = options(doveadm.url());
  quick.timeout = 300ms;
  const auto timed_out =
      DoveadmClient::open(quick)->sync("alice", k_dest, "", false);
  BOOST_REQUIRE(!timed_out);
  BOOST_TEST(timed_out.error().message.find("timed out") != std::string::npos);

  const auto client = DoveadmClient::open(options(doveadm.url()));
  auto running = std::async(std::launch::async, [&] {
    return client->sync("alice", k_dest, "", false);
  });
  BOOST_REQUIRE(doveadm.wait_for_commands(2));
  client->cancel();
  BOOST_REQUIRE(running.wait_for(3s) == std::future_status::ready);
  const auto cancelled = running.get();
  BOOST_REQUIRE(!cancelled);
  BOOST_TEST(cancelled.error().message.find("cancelled") != std::string::npos);
  BOOST_TEST(!client->sync("alice", k_dest, "", false)); // and every later one
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused) {
  BOOST_CHECK_THROW(DoveadmClient::open(options("unix:")), ConfigError);
  BOOST_CHECK_THROW(DoveadmClient::open(options("tcp:nohost")), ConfigError);
  BOOST_CHECK_THROW(DoveadmClient::open(options("tcp:127.0.0.1:12345")),
                    ConfigError); // a tcp listener always asks for a password
  auto key = options("unix:/run/dovecot/doveadm-server");
  key.api_key = "key";
  BOOST_CHECK_THROW(DoveadmClient::open(key), ConfigError);
  BOOST_CHECK_NO_THROW(
      DoveadmClient::open(options("unix:/run/dovecot/doveadm-server")));
}

BOOST_AUTO_TEST_SUITE_END()
