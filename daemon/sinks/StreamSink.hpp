#pragma once

#include "bus/Subscriber.hpp"
#include "util/Fd.hpp"

#include <tl/expected.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace dovewarden::sinks {

// Writes events as JSON lines (see to_json_line) to stdout or a file, for
// "dovewardend | jq" pipelines. Lines are batched: the batch is written when
// it reaches flush_bytes, every flush_interval, and on stop. A terminal on
// stdout, or a zero interval, gets every line at once.
class StreamSink : public bus::Subscriber {
public:
  struct Options {
    std::string path; // "-": stdout; otherwise a file, appended to
    std::chrono::milliseconds flush_interval{200};
    std::size_t flush_bytes = 65536;
  };

  // Opens the stream. Returns the sink, or an error text if the file cannot
  // be opened.
  static tl::expected<std::shared_ptr<StreamSink>, std::string>
  open(const Options &options);

  std::string name() const override { return "stream"; }
  // Throws std::runtime_error if a write fails; the batch is then discarded.
  void handle(const core::Event &event) override;
  std::chrono::milliseconds flush_interval() const override;
  void flush() override;
  void stop() override;

private:
  StreamSink(util::Fd owned, int fd, std::string label, Options options,
             bool immediate);
  void write_out();

  util::Fd m_owned; // empty for stdout
  int m_fd;
  std::string m_label; // "stdout" or the path, for error texts
  Options m_options;
  bool m_immediate;
  std::string m_buffer;
};

} // namespace dovewarden::sinks
