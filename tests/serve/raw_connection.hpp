#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

namespace fmnist::testing {

// A client connection on loopback that sends bytes exactly as given (no HTTP library between),
// for requests an HTTP client would not send: pipelined, malformed, split.
class RawConnection {
 public:
  // Connects to 127.0.0.1:port; every read gives up after `timeout_s` seconds of silence.
  explicit RawConnection(int port, int timeout_s = 2) : socket_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{/*tv_sec=*/timeout_s, /*tv_usec=*/0};
    ::setsockopt(socket_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    connected_ = ::connect(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() { ::close(socket_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool send(const std::string& bytes) {
    return connected_ && ::send(socket_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                             static_cast<ssize_t>(bytes.size());
  }

  // The next response, headers and the body its Content-Length gives; or what came before the
  // server closed the connection or fell silent.
  std::string read_response() {
    while (!has_whole_response()) {
      char buffer[4096];
      const ssize_t got = ::recv(socket_, buffer, sizeof buffer, 0);
      if (got <= 0) {
        closed_ = got == 0 || errno == ECONNRESET;
        break;
      }
      unread_.append(buffer, static_cast<std::size_t>(got));
    }
    const std::size_t size = has_whole_response() ? response_size() : unread_.size();
    std::string response = unread_.substr(0, size);
    unread_.erase(0, size);
    return response;
  }

  // Whether the server closes the connection without sending anything more.
  bool ends_without_more() { return read_response().empty() && closed_; }

  // Whether the server sent something, or closed the connection, within `ms` milliseconds.
  bool readable_within(int ms) const {
    if (!unread_.empty()) return true;
    pollfd entry{socket_, POLLIN, 0};
    return ::poll(&entry, 1, ms) > 0;
  }

 private:
  bool has_whole_response() const {
    return unread_.find("\r\n\r\n") != std::string::npos && unread_.size() >= response_size();
  }

  // The first response's size in unread_ (its headers must be there).
  std::size_t response_size() const {
    const std::size_t end = unread_.find("\r\n\r\n") + 4;
    const std::size_t length = unread_.find("Content-Length: ");
    if (length == std::string::npos || length > end) return end;
    return end + std::stoul(unread_.substr(length + 16));
  }

  const int socket_;
  bool connected_ = false, closed_ = false;
  std::string unread_;
};

}  // namespace fmnist::testing
