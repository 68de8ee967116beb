#include "audit/Record.hpp"

#include <tuple>

namespace dovewarden::audit {

namespace {

auto fields(const Record &r) {
  return std::tie(r.seq, r.time, r.operation, r.user, r.actor, r.ip, r.port,
                  r.session, r.service, r.mailbox, r.mailbox_guid, r.uid,
                  r.uidvalidity, r.msgid, r.outcome, r.details, r.inst,
                  r.event_seq, r.prev_hash, r.hash);
}

} // namespace

bool operator==(const Record &a, const Record &b) {
  return fields(a) == fields(b);
}

} // namespace dovewarden::audit
