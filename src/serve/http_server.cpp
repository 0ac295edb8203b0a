#include "fmnist/serve/http_server.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace fmnist {
namespace {

// An idle keep-alive connection looks this often whether the server is stopping.
constexpr int kStopCheckMs = 10;
constexpr std::size_t kReadBufferBytes = 16 * 1024;
// Longer answers (none of fmnist serve's) go out as they are written, in pieces of this size.
constexpr std::size_t kMaxPendingBytes = 256 * 1024;

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

// One connection's stream for httplib's request parser. Reads go through a buffer kept for the
// connection's life (bytes of a pipelined request stay in it); writes are gathered and sent by
// flush(), or before the next read when the parser waits on the client (a "100 Continue").
// The socket's SO_RCVTIMEO and SO_SNDTIMEO, which httplib sets on every accepted connection,
// bound each read and write.
class ConnectionStream final : public httplib::Stream {
 public:
  explicit ConnectionStream(socket_t socket) : socket_(socket), input_(kReadBufferBytes) {}

  bool is_readable() const override { return has_input() || wait_readable(/*timeout_ms=*/0); }
  bool is_writable() const override { return true; }  // a write only appends to the answer

  ssize_t read(char* data, size_t size) override {
    if (!has_input()) {
      if (!flush()) return -1;
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
    output_.append(data, size);
    if (output_.size() > kMaxPendingBytes && !flush()) return -1;
    return static_cast<ssize_t>(size);
  }

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

  // Whether bytes arrive within `timeout_ms` (0: are there now).
  bool wait_readable(int timeout_ms) const {
    pollfd entry{socket_, POLLIN, 0};
    int ready;
    do {
      ready = ::poll(&entry, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    return ready > 0;
  }

  // Sends what was written since the last flush; false when the client is gone or stalled.
  bool flush() {
    std::size_t sent = 0;
    while (sent < output_.size()) {
      const ssize_t count =
          ::send(socket_, output_.data() + sent, output_.size() - sent, MSG_NOSIGNAL);
      if (count < 0 && errno == EINTR) continue;
      if (count <= 0) {
        output_.clear();
        return false;
      }
      sent += static_cast<std::size_t>(count);
    }
    output_.clear();
    return true;
  }

 private:
  ssize_t receive(char* data, std::size_t size) {
    ssize_t count;
    do {
      count = ::recv(socket_, data, size, 0);
    } while (count < 0 && errno == EINTR);
    return count;
  }

  const socket_t socket_;
  std::vector<char> input_;
  std::size_t begin_ = 0, end_ = 0;  // the unread bytes of input_
  std::string output_;
  mutable std::string peer_ip_, own_ip_;
  mutable int peer_port_ = -1, own_port_ = -1;
};

}  // namespace

bool HttpServer::process_and_close_socket(socket_t socket) {
  ConnectionStream stream(socket);
  // Between requests: waits for the next one until the keep-alive timeout, or until stop().
  auto next_request_came = [&] {
    const auto idle_since = std::chrono::steady_clock::now();
    const auto idle_limit = std::chrono::seconds(keep_alive_timeout_sec_);
    while (!stream.has_input() && !stream.wait_readable(kStopCheckMs)) {
      if (svr_sock_ == INVALID_SOCKET ||
          std::chrono::steady_clock::now() - idle_since > idle_limit) {
        return false;
      }
    }
    return svr_sock_ != INVALID_SOCKET;
  };
  bool ok = false;
  for (std::size_t left = keep_alive_max_count_; left > 0 && next_request_came(); --left) {
    bool client_closes = false;
    ok = process_request(stream, /*close_connection=*/left == 1, client_closes, nullptr);
    ok = stream.flush() && ok;
    if (!ok || client_closes) break;
  }
  ::shutdown(socket, SHUT_RDWR);
  ::close(socket);
  return ok;
}

}  // namespace fmnist
