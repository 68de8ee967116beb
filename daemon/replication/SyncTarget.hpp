#pragma once

#include "replication/UserdbFields.hpp"

#include <string>

namespace dovewarden::replication {

// Where one user's sync goes, or that it is skipped, judged from that
// user's userdb fields alone.
struct SyncTarget {
  // The replicator's settings for the judgment.
  struct Rules {
    std::string destination; // DOVEWARDEN_DOVEADM_DEST
    // take the userdb field mail_replica first, as 2.3's `sync -d` did
    bool from_userdb = false;
  };

  bool noreplicate = false; // skip: the userdb says noreplicate
  std::string destination;  // dsync's destination otherwise

  // Returns the target of a user with these fields: mail_replica if the
  // rules take it from the userdb and it is not empty, else the global
  // destination.
  static SyncTarget of(const UserdbFields &fields, const Rules &rules);
};

} // namespace dovewarden::replication
