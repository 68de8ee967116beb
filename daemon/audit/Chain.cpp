#include "audit/Chain.hpp"

#include "util/Sha256.hpp"

#include <string_view>

namespace dovewarden::audit {

const std::string k_genesis_hash(64, '0');

namespace {

void put(std::string &out, std::string_view bytes) {
  out += std::to_string(bytes.size());
  out += ':';
  out += bytes;
}

template <typename Number> void put_number(std::string &out, Number number) {
  put(out, std::to_string(number));
}

} // namespace

std::string canonical(const Record &record) {
  std::string out;
  out.reserve(256 + record.details.size());
  put_number(out, record.seq);
  put_number(out, record.time);
  put(out, record.operation);
  put(out, record.user);
  put(out, record.actor);
  put(out, record.ip);
  put_number(out, record.port);
  put(out, record.session);
  put(out, record.service);
  put(out, record.mailbox);
  put(out, record.mailbox_guid);
  put_number(out, record.uid);
  put_number(out, record.uidvalidity);
  put(out, record.msgid);
  put(out, record.outcome);
  put(out, record.details);
  put(out, record.inst);
  put_number(out, record.event_seq);
  return out;
}

std::string record_hash(const std::string &prev_hash, const Record &record) {
  std::string input = util::from_hex(prev_hash);
  input += canonical(record);
  const auto digest = util::sha256(input);
  return util::to_hex(std::string_view(
      reinterpret_cast<const char *>(digest.data()), digest.size()));
}

void link(Record &record, std::uint64_t head_seq,
          const std::string &head_hash) {
  record.seq = head_seq + 1;
  record.prev_hash = head_hash;
  record.hash = record_hash(head_hash, record);
}

} // namespace dovewarden::audit
