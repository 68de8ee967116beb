#pragma once

#include <string>

namespace CLI {
class App;
}

namespace dovewarden::cli {

// dovewarden(1), in troff, written from the command line's own table
// (CommandLine), so that it says what --help says.
std::string man_page(const CLI::App &app);

} // namespace dovewarden::cli
