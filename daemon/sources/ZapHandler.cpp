#include "sources/ZapHandler.hpp"

#include "util/Logger.hpp"

#include <array>
#include <iterator>
#include <vector>
#include <zmq_addon.hpp>

namespace dovewarden::sources {

namespace {

constexpr const char *k_endpoint = "inproc://zeromq.zap.01";
constexpr std::string_view k_version = "1.0";
// version, request id, domain, address, identity, mechanism
constexpr std::size_t k_fixed_frames = 6;
// how long a recv waits before looking at m_stopping again
constexpr int k_poll_millis = 100;

std::string_view view(const zmq::message_t &frame) {
  return frame.to_string_view();
}

} // namespace

ZapHandler::ZapHandler(zmq::context_t &context, Judge judge)
    : m_socket(context, zmq::socket_type::rep), m_judge(std::move(judge)) {}

ZapHandler::~ZapHandler() { stop(); }

void ZapHandler::start() {
  m_socket.set(zmq::sockopt::rcvtimeo, k_poll_millis);
  m_socket.set(zmq::sockopt::linger, 0);
  m_socket.bind(k_endpoint);
  m_thread = std::thread([this] { run(); });
}

void ZapHandler::stop() {
  m_stopping = true;
  if (m_thread.joinable())
    m_thread.join();
  if (m_socket.handle() != nullptr)
    m_socket.close();
}

void ZapHandler::run() {
  std::vector<zmq::message_t> request;
  while (!m_stopping) {
    request.clear();
    try {
      if (!zmq::recv_multipart(m_socket, std::back_inserter(request)))
        continue; // timeout
      answer(request);
    } catch (const zmq::error_t &e) {
      if (e.num() == EINTR)
        continue;
      if (e.num() == ETERM)
        return;
      LOG_ERROR("zmq: authentication handler failed: ", e.what());
      return;
    }
  }
}

void ZapHandler::answer(const std::vector<zmq::message_t> &request) {
  std::optional<std::string> refusal;
  if (request.size() < k_fixed_frames || view(request[0]) != k_version) {
    refusal = "bad_request";
  } else {
    Request asked{view(request[2]), view(request[3]), view(request[5]), {}};
    if (request.size() > k_fixed_frames)
      asked.credential = view(request[k_fixed_frames]);
    refusal = m_judge(asked);
  }
  const std::string_view id =
      request.size() > 1 ? view(request[1]) : std::string_view();
  const std::array<zmq::const_buffer, 6> reply{
      zmq::buffer(k_version),
      zmq::buffer(id),
      zmq::buffer(std::string_view(refusal ? "400" : "200")),
      zmq::buffer(refusal ? std::string_view(*refusal) : std::string_view()),
      zmq::buffer(std::string_view()), // user id
      zmq::buffer(std::string_view()), // metadata
  };
  zmq::send_multipart(m_socket, reply);
}

} // namespace dovewarden::sources
