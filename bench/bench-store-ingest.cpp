// How fast each replication store takes requests: N requests over U users,
// enqueued in batches, into a fresh SQLite store and a redis-server of its
// own, side by side.
//
//   bench-store-ingest [REQUESTS] [USERS] [BATCH]   (defaults: 200000 20000
//   1000)

#include "CpuTime.hpp"
#include "RedisServer.hpp"
#include "store/RedisStore.hpp"
#include "store/SqliteStore.hpp"

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace dovewarden;

namespace {

using Batches = std::vector<std::vector<store::SyncRequest>>;

Batches make_batches(int requests, int users, int batch_size) {
  std::mt19937 random(42);
  std::uniform_int_distribution<int> user(0, users - 1);
  std::uniform_int_distribution<int> priority(1, 2);
  const auto start = store::Clock::now();
  Batches batches;
  for (int i = 0; i < requests; i++) {
    if (i % batch_size == 0)
      batches.emplace_back();
    batches.back().push_back(
        {"user" + std::to_string(user(random)) + "@example.org",
         static_cast<store::Priority>(priority(random)),
         start + std::chrono::milliseconds(i), false, std::nullopt});
  }
  return batches;
}

struct Rate {
  double per_second = -1; // negative if the store failed
  double client_us = 0;   // CPU of this process per request
  double server_us = 0;   // CPU of redis-server per request
};

using dovewarden::bench::process_cpu_seconds;
using dovewarden::bench::self_cpu_seconds;

Rate measure(store::ReplicationStore &store, const Batches &batches,
             pid_t server = -1) {
  Rate rate;
  std::size_t requests = 0;
  const double client0 = self_cpu_seconds();
  const double server0 = server > 0 ? process_cpu_seconds(server) : 0;
  const auto started = std::chrono::steady_clock::now();
  for (const auto &batch : batches) {
    if (auto done = store.enqueue(batch); !done) {
      std::fprintf(stderr, "%s: %s\n", store.describe().c_str(),
                   done.error().message.c_str());
      return rate;
    }
    requests += batch.size();
  }
  const std::chrono::duration<double> elapsed =
      std::chrono::steady_clock::now() - started;
  const auto count = static_cast<double>(requests);
  rate.per_second = count / elapsed.count();
  rate.client_us = (self_cpu_seconds() - client0) * 1e6 / count;
  if (server > 0)
    rate.server_us = (process_cpu_seconds(server) - server0) * 1e6 / count;
  return rate;
}

} // namespace

int main(int argc, char **argv) {
  const int requests = argc > 1 ? std::atoi(argv[1]) : 200000;
  const int users = argc > 2 ? std::atoi(argv[2]) : 20000;
  const int batch_size = argc > 3 ? std::atoi(argv[3]) : 1000;
  if (requests <= 0 || users <= 0 || batch_size <= 0) {
    std::fprintf(stderr,
                 "usage: bench-store-ingest [REQUESTS] [USERS] [BATCH]\n");
    return 2;
  }
  const auto batches = make_batches(requests, users, batch_size);

  char name[] = "/tmp/dovewarden-bench-XXXXXX";
  if (::mkdtemp(name) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  Rate sqlite_rate;
  {
    auto sqlite = store::SqliteStore::open(name);
    if (sqlite)
      sqlite_rate = measure(**sqlite, batches);
    else
      std::fprintf(stderr, "%s\n", sqlite.error().message.c_str());
  }
  std::filesystem::remove_all(name);

  Rate redis_rate;
  try {
    test::RedisServer server;
    store::RedisStore::Options options;
    options.port = server.port();
    auto redis = store::RedisStore::connect(options);
    if (redis)
      redis_rate = measure(**redis, batches, server.pid());
    else
      std::fprintf(stderr, "%s\n", redis.error().message.c_str());
  } catch (const std::exception &error) {
    std::fprintf(stderr, "redis-server: %s\n", error.what());
  }

  std::printf("%d requests over %d users, batches of %d\n", requests, users,
              batch_size);
  std::printf("%-8s %12s %18s %18s\n", "store", "requests/s",
              "client CPU us/req", "server CPU us/req");
  std::printf("%-8s %12.0f %18.2f %18s\n", "sqlite", sqlite_rate.per_second,
              sqlite_rate.client_us, "-");
  std::printf("%-8s %12.0f %18.2f %18.2f\n", "redis", redis_rate.per_second,
              redis_rate.client_us, redis_rate.server_us);
  return sqlite_rate.per_second > 0 && redis_rate.per_second > 0 ? 0 : 1;
}
