#pragma once

#include "RedisServer.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

namespace dovewarden::test {

// Returns a new empty directory under /tmp. Fails the test if it cannot.
inline std::string make_temp_directory() {
  char name[] = "/tmp/dovewarden-store-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(name) != nullptr);
  return name;
}

// One redis-server for the stores' contract cases; each case uses a
// namespace of its own.
inline RedisServer &shared_redis() {
  static RedisServer server;
  return server;
}

// Returns whether ping() answered within about five seconds (a restarted
// server may still be loading its file for a moment).
template <typename Store> bool wait_until_answers(Store &store) {
  for (int i = 0; i < 100; i++) {
    if (store.ping())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Returns a Redis store of type Redis for the server on port, keys under
// ns. Fails the test if it cannot.
template <typename Redis>
std::unique_ptr<Redis> connect_redis(int port, const std::string &ns) {
  typename Redis::Options options;
  options.port = port;
  options.ns = ns;
  auto connected = Redis::connect(options);
  BOOST_REQUIRE_MESSAGE(connected.has_value(),
                        (connected ? std::string() : connected.error()));
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
                            (opened ? std::string() : opened.error()));
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
