#pragma once

#include "RedisServer.hpp"
#include "Wait.hpp"
#include "db/StoreFailure.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <string>

namespace dovewarden::test {

// Returns a new empty directory under /tmp. Fails the test if it cannot.
inline std::string make_temp_directory() {
  char name[] = "/tmp/dovewarden-store-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(name) != nullptr);
  return name;
}

// Returns the permission bits of path (0 if it does not exist).
inline unsigned mode_of(const std::string &path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0)
    return 0;
  return status.st_mode & 07777;
}

// While it lives, the process's umask is mask (what an operator's shell or
// a service manager may leave).
class Umask {
public:
  explicit Umask(mode_t mask) : m_saved(::umask(mask)) {}
  Umask(const Umask &) = delete;
  Umask &operator=(const Umask &) = delete;
  ~Umask() { ::umask(m_saved); }

private:
  mode_t m_saved;
};

// One redis-server for the stores' contract cases; each case uses a
// namespace of its own.
inline RedisServer &shared_redis() {
  static RedisServer server;
  return server;
}

// Returns "ok" if result holds a value, else the kind of its failure
// ("unavailable", "conflict", "invalid" or "corrupt").
template <typename T> std::string kind_of(const db::Result<T> &result) {
  return result ? "ok" : db::failure_kind_name(result.error().kind);
}

// While it lives, no file of this process grows past limit bytes: a write
// beyond fails as it would on a full disk (EFBIG; SIGXFSZ is ignored). The
// test writes nothing else meanwhile, its log included.
class FileSizeLimit {
public:
  explicit FileSizeLimit(rlim_t limit) {
    BOOST_REQUIRE(::getrlimit(RLIMIT_FSIZE, &m_saved) == 0);
    m_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = m_saved;
    lowered.rlim_cur = limit;
    m_set = ::setrlimit(RLIMIT_FSIZE, &lowered) == 0;
  }
  FileSizeLimit(const FileSizeLimit &) = delete;
  FileSizeLimit &operator=(const FileSizeLimit &) = delete;
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &m_saved);
    std::signal(SIGXFSZ, m_handler);
  }

  // Returns whether the limit took effect.
  bool set() const { return m_set; }

private:
  rlimit m_saved{};
  void (*m_handler)(int) = SIG_DFL;
  bool m_set = false;
};

// Returns whether ping() answered within about five seconds (a restarted
// server may still be loading its file for a moment).
template <typename Store> bool wait_until_answers(Store &store) {
  return wait_until([&] { return store.ping().has_value(); },
                    std::chrono::seconds(5));
}

// Returns a Redis store of type Redis for the server on port, keys under
// ns. Fails the test if it cannot.
template <typename Redis>
std::unique_ptr<Redis> connect_redis(int port, const std::string &ns) {
  typename Redis::Options options;
  options.port = port;
  options.ns = ns;
  auto connected = Redis::connect(options);
  BOOST_REQUIRE_MESSAGE(
      connected.has_value(),
      (connected ? std::string() : connected.error().message));
  return std::move(*connected);
}

// A fresh, empty Store of one backend ("sqlite": a Sqlite in a temporary
// directory, removed afterwards; "redis": a Redis in a namespace of its own
// on shared_redis()).
template <typename Store, typename Sqlite, typename Redis> class StoreSubject {
public:
  explicit StoreSubject(const std::string &backend) {
    static int serial = 0;
    if (backend == "sqlite") {
      m_directory = make_temp_directory();
      auto opened = Sqlite::open(m_directory + "/store");
      BOOST_REQUIRE_MESSAGE(opened.has_value(),
                            (opened ? std::string() : opened.error().message));
      m_store = std::move(*opened);
    } else {
      m_store = connect_redis<Redis>(shared_redis().port(),
                                     "test" + std::to_string(++serial) + "-" +
                                         std::to_string(::getpid()));
    }
  }
  StoreSubject(const StoreSubject &) = delete;
  StoreSubject &operator=(const StoreSubject &) = delete;
  ~StoreSubject() {
    m_store.reset();
    if (!m_directory.empty())
      std::filesystem::remove_all(m_directory);
  }

  Store &operator*() { return *m_store; }
  Store *operator->() { return m_store.get(); }

private:
  std::string m_directory;
  std::unique_ptr<Store> m_store;
};

} // namespace dovewarden::test
