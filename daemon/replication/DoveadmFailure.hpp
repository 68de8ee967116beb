#pragma once

#include <string>

namespace dovewarden::replication {

// Why a doveadm request failed. The message never holds the password or the
// API key.
struct DoveadmFailure {
  enum class Kind {
    unreachable,  // doveadm itself cannot be reached: no connection (its
                  // socket is gone or refuses, its name does not resolve)
    temporary,    // retry later: the destination down, a timeout, a
                  // cancelled request, any other exit code
    no_such_user, // exit code 67: unknown here or on the destination
    auth,         // a wrong password or API key, or none where one is asked
    protocol,     // an answer that is not what doveadm answers, or doveadm
                  // refusing the request itself (invalidRequest, USAGE)
  };

  Kind kind = Kind::temporary;
  std::string message;
  int exit_code = 0; // doveadm's exit code when it gave one
};

// Returns "unreachable", "temporary", "no_such_user", "auth" or "protocol".
const char *failure_kind_name(DoveadmFailure::Kind kind);

DoveadmFailure doveadm_failure(DoveadmFailure::Kind kind, std::string message,
                               int exit_code = 0);

// The failure of `doveadm command` that ended with exit code `code`.
DoveadmFailure exit_failure(const char *command, int code);

// doveadm's exit code for the name its own protocol answers instead
// ("NOUSER", "TEMPFAIL", ...); 0 for a name it does not know.
int exit_code_named(const std::string &name);

} // namespace dovewarden::replication
