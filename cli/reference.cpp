// dovewarden-reference: writes the pages that come from the option tables of
// dovewardend and dovewarden, for `make reference` and the check that they
// are up to date (scripts/check-reference).
//   dovewarden-reference dovewardend.8
//   dovewarden-reference dovewarden.1
//   dovewarden-reference configuration.md < docs/configuration.md
#include "config/Reference.hpp"

#include "CommandLine.hpp"
#include "ManPage.hpp"

#include <cstdlib>
#include <exception>
#include <iostream>
#include <iterator>
#include <string>

int main(int argc, char **argv) {
  const std::string page = argc == 2 ? argv[1] : "";
  try {
    if (page == "dovewardend.8") {
      std::cout << dovewarden::config::daemon_man_page();
      return EXIT_SUCCESS;
    }
    if (page == "dovewarden.1") {
      const dovewarden::cli::CommandLine line;
      std::cout << dovewarden::cli::man_page(line.app);
      return EXIT_SUCCESS;
    }
    if (page == "configuration.md") {
      const std::string text{std::istreambuf_iterator<char>(std::cin), {}};
      std::cout << dovewarden::config::fill_configuration_reference(text);
      return EXIT_SUCCESS;
    }
  } catch (const std::exception &e) {
    std::cerr << "dovewarden-reference: " << e.what() << "\n";
    return EXIT_FAILURE;
  }
  std::cerr << "usage: dovewarden-reference "
               "dovewardend.8|dovewarden.1|configuration.md\n";
  return 64;
}
