#include "fmnist/serve/http_server.hpp"

#include "fmnist/serve/connection_pool.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace fmnist {
namespace {

using Clock = std::chrono::steady_clock;

// An idle keep-alive connection looks this often whether the server is stopping.
constexpr auto kStopCheck = std::chrono::milliseconds(10);
constexpr std::size_t kReadBufferBytes = 16 * 1024;
// Answers are gathered up to this size; a longer write goes out as it is written.
constexpr std::size_t kMaxPendingBytes = 64 * 1024;
// A request's line and headers: httplib reads them a byte at a time (a body in blocks), and
// would grow a line without bound.
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
// After an answer that closes the connection, what the client still sends is read and
// dropped for this long: closing with unread bytes would reset the connection, and the
// client could lose the answer (curl still sending a refused body).
constexpr auto kLinger = std::chrono::milliseconds(500);
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;

// Set by the post-routing handler on the thread that writes an answer, read by its loop.
thread_local bool answer_closes = false;
// Set when the request the thread reads ran out of time.
thread_local bool timed_out = false;

// Whether a header's value, a comma-separated list, holds `token` (lower case) in any case:
// "Keep-Alive, Upgrade" holds "keep-alive". Read in place: it runs for every answer.
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const std::size_t comma = std::min(value.find(','), value.size());
    std::string_view item = value.substr(0, comma);
    value.remove_prefix(std::min(comma + 1, value.size()));
    const std::size_t first = item.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;
    item = item.substr(first, item.find_last_not_of(" \t") + 1 - first);
    if (std::equal(item.begin(), item.end(), token.begin(), token.end(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      return true;
    }
  }
  return false;
}

// Whether the request came with a body that httplib did not read: it reads one only for
// these methods, and the bytes left would be taken for the next request.
bool has_unread_body(const httplib::Request& request) {
  const bool read = request.method == "POST" || request.method == "PUT" ||
                    request.method == "PATCH" || request.method == "DELETE" ||
                    request.method == "PRI";
  return !read && (request.has_header("Transfer-Encoding") ||
                   (request.has_header("Content-Length") &&
                    request.get_header_value("Content-Length") != "0"));
}

std::chrono::microseconds duration_of(time_t seconds, time_t microseconds) {
  return std::chrono::seconds(seconds) + std::chrono::microseconds(microseconds);
}

// "127.0.0.1" and 8080 for a connected socket's own (peer=false) or its peer's address.
void lookup_address(socket_t socket, bool peer, std::string& ip, int& port) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  auto* generic = reinterpret_cast<sockaddr*>(&address);
  if ((peer ? getpeername(socket, generic, &length) : getsockname(socket, generic, &length)) != 0) {
    return;
  }
  char host[NI_MAXHOST] = "", service[NI_MAXSERV] = "";
  if (getnameinfo(generic, length, host, sizeof host, service, sizeof service,
                  NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(service);
  }
}

// Whether `events` happen on `socket` before `deadline`; also true for an error or a hang-up,
// which the next recv or send reports.
bool wait_for(socket_t socket, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd entry{socket, events, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (ready >= 0 || errno != EINTR) return ready > 0;
  }
}

// One connection's stream for httplib's request parser. Reads go through a buffer kept for the
// connection's life (bytes of a pipelined request stay in it); writes are gathered and sent by
// flush(), or before a read that has to wait for the client (a "100 Continue"). Sockets are
// read and written without blocking, each wait bounded by the request's or answer's deadline.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(socket_t socket, const std::atomic<socket_t>& listening,
                   std::chrono::microseconds read_timeout, std::chrono::microseconds write_timeout)
      : socket_(socket),
        listening_(listening),
        read_timeout_(read_timeout),
        write_timeout_(write_timeout),
        input_(kReadBufferBytes) {}

  // The clock of a request starts: it must arrive whole within the read timeout, plus a
  // second for every kServeMinBytesPerSecond of it.
  void begin_request() {
    request_start_ = Clock::now();
    request_bytes_ = 0;
    header_bytes_ = 0;
    timed_out = false;
  }

  ssize_t read(char* data, size_t size) override {
    if (size == 1 && ++header_bytes_ > kMaxHeaderBytes) return -1;
    if (!has_input()) {
      if (size >= input_.size()) return receive(data, size);
      const ssize_t received = receive(input_.data(), input_.size());
      if (received <= 0) return received;
      begin_ = 0;
      end_ = static_cast<std::size_t>(received);
    }
    const std::size_t count = std::min(size, end_ - begin_);
    std::memcpy(data, input_.data() + begin_, count);
    begin_ += count;
    return static_cast<ssize_t>(count);
  }

  ssize_t write(const char* data, size_t size) override {
    if (output_.size() + size <= kMaxPendingBytes) {
      output_.append(data, size);
    } else if (!flush() || !send_all(data, size)) {
      return -1;
    }
    return static_cast<ssize_t>(size);
  }

  // Not asked by httplib 0.11's server (only by content providers, which fmnist does not use).
  bool is_readable() const override { return has_input(); }
  bool is_writable() const override { return true; }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    if (peer_port_ < 0) lookup_address(socket_, /*peer=*/true, peer_ip_, peer_port_);
    ip = peer_ip_;
    port = peer_port_;
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    if (own_port_ < 0) lookup_address(socket_, /*peer=*/false, own_ip_, own_port_);
    ip = own_ip_;
    port = own_port_;
  }

  socket_t socket() const override { return socket_; }

  bool has_input() const { return begin_ < end_; }

  // Whether bytes are buffered or arrive before `deadline`.
  bool wait_for_input(Clock::time_point deadline) const {
    return has_input() || wait_for(socket_, POLLIN, deadline);
  }

  // Sends what was written since the last flush; false when the client is gone or too slow.
  bool flush() {
    const bool sent = send_all(output_.data(), output_.size());
    if (output_.capacity() > kMaxPendingBytes) {
      std::string().swap(output_);
    } else {
      output_.clear();
    }
    return sent;
  }

 private:
  static Clock::duration allowance(std::size_t bytes) {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(static_cast<double>(bytes) / kServeMinBytesPerSecond));
  }

  ssize_t receive(char* data, std::size_t size) {
    if (!flush()) return -1;
    for (;;) {
      const ssize_t count = ::recv(socket_, data, size, MSG_DONTWAIT);
      if (count >= 0) {
        request_bytes_ += static_cast<std::size_t>(count);
        return count;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      const auto deadline = read_deadline();
      if (Clock::now() >= deadline) {
        timed_out = true;
        return -1;
      }
      wait_for(socket_, POLLIN, std::min(deadline, Clock::now() + kStopCheck * 10));
    }
  }

  // The request's deadline; once the server stops, at most the read timeout from then (a slow
  // upload would hold the stop for minutes).
  Clock::time_point read_deadline() {
    auto deadline = request_start_ + read_timeout_ + allowance(request_bytes_);
    if (listening_ == INVALID_SOCKET) {
      if (stopped_at_ == Clock::time_point()) stopped_at_ = Clock::now();
      deadline = std::min(deadline, stopped_at_ + read_timeout_);
    }
    return deadline;
  }

  bool send_all(const char* data, std::size_t size) {
    const auto deadline = Clock::now() + write_timeout_ + allowance(size);
    for (std::size_t sent = 0; sent < size;) {
      const ssize_t count = ::send(socket_, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (count >= 0) {
        sent += static_cast<std::size_t>(count);
      } else if (errno != EINTR && ((errno != EAGAIN && errno != EWOULDBLOCK) ||
                                    !wait_for(socket_, POLLOUT, deadline))) {
        return false;
      }
    }
    return true;
  }

  const socket_t socket_;
  const std::atomic<socket_t>& listening_;  // INVALID_SOCKET once the server stops
  const std::chrono::microseconds read_timeout_, write_timeout_;
  std::vector<char> input_;
  std::size_t begin_ = 0, end_ = 0;  // the unread bytes of input_
  std::string output_;
  Clock::time_point request_start_ = Clock::now(), stopped_at_;
  std::size_t request_bytes_ = 0, header_bytes_ = 0;
  mutable std::string peer_ip_, own_ip_;
  mutable int peer_port_ = -1, own_port_ = -1;
};

// Ends the connection after the last answer went out: the client gets it and then the end,
// and what it still sends is dropped for a while instead of resetting the connection.
void close_lingering(socket_t socket) {
  ::shutdown(socket, SHUT_WR);
  const auto deadline = Clock::now() + kLinger;
  char sink[4096];
  for (std::size_t dropped = 0; dropped < kMaxLingerBytes && wait_for(socket, POLLIN, deadline);) {
    const ssize_t count = ::recv(socket, sink, sizeof sink, MSG_DONTWAIT);
    if (count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN)) break;
    dropped += static_cast<std::size_t>(std::max<ssize_t>(count, 0));
  }
  ::close(socket);
}

}  // namespace

// Decides, as each answer is written, whether it ends the connection, and says so in it:
// httplib 0.11 matched "close" and "Keep-Alive" in one case only, and did not look at the
// answer's own header or at a body it left unread.
HttpServer::HttpServer() {
  set_post_routing_handler([this](const httplib::Request& request, httplib::Response& response) {
    const std::string asked = request.get_header_value("Connection");
    answer_closes = has_token(response.get_header_value("Connection"), "close") ||
                    has_token(asked, "close") ||
                    (request.version == "HTTP/1.0" && !has_token(asked, "keep-alive")) ||
                    has_unread_body(request) || !framing_problem(request).empty() ||
                    svr_sock_ == INVALID_SOCKET;
    if (answer_closes) {
      response.headers.erase("Keep-Alive");
      response.headers.erase("Connection");
      response.set_header("Connection", "close");
    }
  });
}

bool HttpServer::request_timed_out() { return timed_out; }

void HttpServer::set_max_connections(std::size_t connections) {
  new_task_queue = [this, connections] {
    auto* pool = new ConnectionPool(connections);
    pool_ = pool;
    return pool;
  };
}

std::string HttpServer::framing_problem(const httplib::Request& request) {
  for (const auto& [name, value] : request.headers) {
    if (name.find_first_of(" \t") != std::string::npos) {
      return "a header name with a space in it ('" + name + "')";
    }
  }
  if (request.get_header_value_count("Content-Length") > 1) return "more than one Content-Length";
  if (request.has_header("Content-Length") && request.has_header("Transfer-Encoding")) {
    return "both Content-Length and Transfer-Encoding";
  }
  return "";
}

bool HttpServer::process_and_close_socket(socket_t socket) {
  ConnectionStream stream(socket, svr_sock_, duration_of(read_timeout_sec_, read_timeout_usec_),
                          duration_of(write_timeout_sec_, write_timeout_usec_));
  const auto keep_alive = std::chrono::seconds(keep_alive_timeout_sec_);
  bool ok = false;
  for (std::size_t left = keep_alive_max_count_; left > 0; --left) {
    // Between requests: the next one, until the keep-alive timeout or stop(). Once stopping,
    // only a request that already came is answered, as the connection's last.
    const auto idle_since = Clock::now();
    bool stopping = false, came = false;
    while (!came) {
      stopping = svr_sock_ == INVALID_SOCKET;
      came = stream.wait_for_input(stopping ? Clock::now() : Clock::now() + kStopCheck);
      ConnectionPool* pool = pool_;
      if (!came &&
          (stopping || Clock::now() - idle_since > keep_alive || (pool && pool->has_waiting()))) {
        break;
      }
    }
    if (!came) break;
    stream.begin_request();
    answer_closes = false;
    bool httplib_closes = false;  // its own decision, case-sensitive: answer_closes replaces it
    ok = process_request(stream, /*close_connection=*/left == 1 || stopping, httplib_closes,
                         nullptr);
    ok = stream.flush() && ok;
    if (!ok || answer_closes) break;
  }
  close_lingering(socket);
  return ok;
}

}  // namespace fmnist
