#pragma once

#include "replication/DoveadmFailure.hpp"

#include <nlohmann/json_fwd.hpp>
#include <tl/expected.hpp>

#include <map>
#include <string>

namespace dovewarden::replication {

// One user's userdb fields as doveadm's `user` command shows them, extra
// fields included ("uid", "home", "noreplicate", "mail_replica", ...).
using UserdbFields = std::map<std::string, std::string>;

// Whether the fields say noreplicate, read as 2.3's doveadm read it: the
// field is there, and its value does not start with n, N, 0, f or F.
bool has_noreplicate(const UserdbFields &fields);

// Returns user's fields from the payload doveadm's `user` answers for one
// name, {"<user>": {"<field>": "<value>", ...}}, or a protocol failure if the
// payload is not of that shape.
tl::expected<UserdbFields, DoveadmFailure>
userdb_fields_of(const nlohmann::json &payload, const std::string &user);

} // namespace dovewarden::replication
