#include "replication/SyncTarget.hpp"

namespace dovewarden::replication {

SyncTarget SyncTarget::of(const UserdbFields &fields, const Rules &rules) {
  SyncTarget target;
  target.noreplicate = has_noreplicate(fields);
  target.destination = rules.destination;
  if (rules.from_userdb) {
    const auto replica = fields.find("mail_replica");
    if (replica != fields.end() && !replica->second.empty())
      target.destination = replica->second;
  }
  return target;
}

} // namespace dovewarden::replication
