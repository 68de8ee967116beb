#pragma once

#include "replication/DoveadmFailure.hpp"
#include "replication/UserdbFields.hpp"

#include <tl/expected.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dovewarden::replication {

// Users' userdb fields, looked up through doveadm and kept for a while, so
// that a user's syncs do not each cost a userdb lookup. Bounded in time (a
// changed userdb is seen within ttl) and in size (when full, the oldest
// entry goes). Failed lookups are not kept. Thread-safe; a lookup runs
// without the lock held.
class UserdbCache {
public:
  using Clock = std::chrono::steady_clock;
  using Lookup = std::function<tl::expected<UserdbFields, DoveadmFailure>(
      const std::string &user)>;

  struct Options {
    std::chrono::milliseconds ttl{std::chrono::minutes(1)}; // 0: keep none
    std::size_t max_entries = 100000;
    std::function<Clock::time_point()> now = Clock::now; // tests set it
  };

  UserdbCache(Options options, Lookup lookup);
  UserdbCache(const UserdbCache &) = delete;
  UserdbCache &operator=(const UserdbCache &) = delete;

  // Returns user's fields, kept ones if looked up within ttl, else looked
  // up anew; or the lookup's failure.
  tl::expected<UserdbFields, DoveadmFailure> get(const std::string &user);
  // Returns how many users' fields are kept now, expired ones included.
  std::size_t size() const;

private:
  struct Entry {
    std::string user;
    UserdbFields fields;
    Clock::time_point expires;
  };
  using Entries = std::list<Entry>; // oldest first: they expire first

  void keep(const std::string &user, UserdbFields fields);

  Options m_options;
  Lookup m_lookup;
  mutable std::mutex m_mutex;
  Entries m_entries;
  std::unordered_map<std::string, Entries::iterator> m_index;
};

} // namespace dovewarden::replication
