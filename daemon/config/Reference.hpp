#pragma once

#include <string>

namespace dovewarden::config {

// The pages written from dovewardend's option table (setting_groups()), so
// that they cannot drift from --help.

// dovewardend(8), in troff.
std::string daemon_man_page();

// Returns page (docs/configuration.md) with the table of each setting group
// rewritten between its marker comments:
//   <!-- settings: NAME (generated: make reference) -->
//   <!-- end of settings: NAME -->
// Throws std::runtime_error naming a group whose markers are missing.
std::string fill_configuration_reference(const std::string &page);

} // namespace dovewarden::config
