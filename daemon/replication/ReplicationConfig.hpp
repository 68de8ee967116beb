#pragma once

#include "replication/Trigger.hpp"
#include "util/ListenAddress.hpp"
#include "util/SettingValues.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace dovewarden::replication {

enum class StoreMode { embedded, redis };

// What replication needs; it is off while doveadm_url is empty.
struct ReplicationConfig {
  std::string doveadm_url;
  std::string doveadm_password;
  std::string doveadm_api_key;
  std::string doveadm_dest;
  bool doveadm_dest_from_userdb = false; // mail_replica first, as `sync -d`
  std::chrono::milliseconds doveadm_timeout{30 * 60 * 1000};
  std::chrono::milliseconds userdb_cache_ttl{60 * 1000};
  std::size_t userdb_cache_size = 100000;
  StoreMode store = StoreMode::embedded;
  std::string store_path = "/var/lib/dovewarden";
  util::ListenAddress redis_addr{"127.0.0.1", 6379};
  std::string redis_password;
  std::string redis_namespace = "dovewarden";
  std::vector<util::ListenAddress> redis_sentinels; // none: redis_addr
  std::string redis_sentinel_master = "mymaster";
  std::string redis_sentinel_password;
  unsigned workers = 4;
  std::chrono::milliseconds full_sync_interval{24 * 3600 * 1000};
  std::chrono::milliseconds retry_min{10000};
  std::chrono::milliseconds retry_max{600000};
  Trigger trigger = Trigger::defaults();
  bool sweep_enabled = true;
  std::chrono::milliseconds sweep_interval{3600 * 1000};
  std::chrono::milliseconds sweep_threshold{24 * 3600 * 1000};

  bool enabled() const { return !doveadm_url.empty(); }

  // The DOVEWARDEN_DOVEADM_*, store and replication settings, in the order
  // --help lists them.
  static const std::vector<util::Setting> &settings();
  // Reads them; throws util::ConfigError naming a setting with a bad value.
  static ReplicationConfig from(const util::SettingValues &values);
};

} // namespace dovewarden::replication
