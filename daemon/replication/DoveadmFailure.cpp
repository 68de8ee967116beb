#include "replication/DoveadmFailure.hpp"

#include <utility>

namespace dovewarden::replication {

namespace {

using Kind = DoveadmFailure::Kind;

constexpr int k_ex_usage = 64;
constexpr int k_ex_nouser = 67;

struct ExitCode {
  int code;
  const char *name; // as doveadm's protocol says it
  const char *text;
};

// <sysexits.h> and doveadm's own codes
constexpr ExitCode k_exit_codes[] = {
    {2, "", "mailboxes changed during the sync"},
    {k_ex_usage, "USAGE", "usage error: this doveadm refuses the request"},
    {65, "DATAERR", "data error"},
    {k_ex_nouser, "NOUSER", "unknown user, here or on the destination"},
    {75, "TEMPFAIL", "temporary failure"},
    {76, "PROTOCOL", "protocol error"},
    {77, "NOPERM", "permission denied"},
    {78, "", "configuration error"},
    // only asked for with replicatorNotify (-U), which 2.4 refuses and this
    // daemon does not send: it reads noreplicate from the userdb itself
    {1001, "NOREPLICATE", "the user has noreplicate"},
    {1002, "NOTFOUND", "not found"},
};

} // namespace

const char *failure_kind_name(Kind kind) {
  switch (kind) {
  case Kind::unreachable:
    return "unreachable";
  case Kind::temporary:
    return "temporary";
  case Kind::no_such_user:
    return "no_such_user";
  case Kind::auth:
    return "auth";
  case Kind::protocol:
    return "protocol";
  }
  return "unknown";
}

DoveadmFailure doveadm_failure(Kind kind, std::string message, int exit_code) {
  return DoveadmFailure{kind, std::move(message), exit_code};
}

DoveadmFailure exit_failure(const char *command, int code) {
  const char *text = "failed";
  for (const auto &known : k_exit_codes)
    if (known.code == code)
      text = known.text;
  const Kind kind = code == k_ex_nouser  ? Kind::no_such_user
                    : code == k_ex_usage ? Kind::protocol
                                         : Kind::temporary;
  return doveadm_failure(kind,
                         std::string("doveadm ") + command + ": exit code " +
                             std::to_string(code) + " (" + text + ")",
                         code);
}

int exit_code_named(const std::string &name) {
  for (const auto &known : k_exit_codes)
    if (*known.name != '\0' && name == known.name)
      return known.code;
  return 0;
}

} // namespace dovewarden::replication
