// How long ExporterEvent::parse takes for a POST /events body of many keys,
// against the key count: time should grow in proportion to the body. Beside
// it, nlohmann's ordered_json::parse of the same body, which the parser used
// before issue 13 and whose time grows with the square of the keys.
//
//   bench-exporter-parse [MAX_KEYS] [OLD_MAX_KEYS]   (defaults: 100000
//   100000; the key counts go 1000, 10000, 100000 up to MAX_KEYS, and the
//   old parser runs up to OLD_MAX_KEYS)

#include "sources/ExporterEvent.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

// an event_exporter body whose fields hold keys more keys, about 16 bytes
// each, as the issue's 100k-key, 1.6 MB body
std::string body(int keys) {
  std::string text =
      R"({"event":"imap_command_finished","hostname":"mx1",)"
      R"("start_time":"2026-11-22T19:36:10.442828Z",)"
      R"("end_time":"2026-11-22T19:36:10.448947Z",)"
      R"("categories":["imap","service:imap"],"fields":{"user":"alice")";
  for (int i = 0; i < keys; i++)
    text += ",\"k" + std::to_string(1000000 + i) + "\":" + std::to_string(i);
  return text + "}}";
}

// the best of runs, in seconds
double best_of(int runs, const std::function<void()> &run) {
  double best = 1e9;
  for (int i = 0; i < runs; i++) {
    const auto start = Clock::now();
    run();
    const std::chrono::duration<double> took = Clock::now() - start;
    best = std::min(best, took.count());
  }
  return best;
}

} // namespace

int main(int argc, char **argv) {
  const int max_keys = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int old_max_keys = argc > 2 ? std::atoi(argv[2]) : 100000;
  std::printf("%8s %10s %14s %10s %16s\n", "keys", "bytes", "parse (ms)",
              "ns/byte", "ordered_json (ms)");
  for (int keys = 1000; keys <= max_keys; keys *= 10) {
    const auto text = body(keys);
    const auto now = std::chrono::system_clock::now();
    const double parse = best_of(3, [&] {
      if (!dovewarden::sources::ExporterEvent::parse(text, now)) {
        std::fprintf(stderr, "the body did not parse\n");
        std::exit(1);
      }
    });
    std::printf("%8d %10zu %14.2f %10.1f", keys, text.size(), parse * 1e3,
                parse * 1e9 / static_cast<double>(text.size()));
    if (keys <= old_max_keys) {
      const double old = best_of(keys >= 100000 ? 1 : 3, [&] {
        const auto parsed = nlohmann::ordered_json::parse(text);
        if (parsed.is_discarded())
          std::exit(1);
      });
      std::printf(" %16.1f", old * 1e3);
    }
    std::printf("\n");
  }
  return 0;
}
