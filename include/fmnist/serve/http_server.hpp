#pragma once

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>

namespace fmnist {

class ConnectionPool;

// A request may take a second longer than the read timeout (an answer than the write timeout)
// for each this many bytes of it: a client as slow holds a worker for at most
// --max-body-mb / 16 KiB seconds.
inline constexpr double kServeMinBytesPerSecond = 16 * 1024;

static_assert(std::string_view(CPPHTTPLIB_VERSION).substr(0, 5) == "0.11.",
              "HttpServer replaces cpp-httplib 0.11's connection loop; check it against this "
              "version's Server::process_and_close_socket and process_request");

// httplib's server with fmnist's connection loop; requests are still parsed and routed by
// httplib (Server::process_request, the hook httplib's own SSLServer overrides).
//
// httplib 0.11's loop makes some 13 system calls per request on a keep-alive connection and
// sends an answer's headers apart from its body; here a request on a warm connection takes a
// poll, a recv and one send. Its read buffer lived for one request, so a pipelined request was
// lost; here it lives as long as the connection, and an answer that says "Connection: close"
// ends the connection (a refused body, left unread, is not read as the next request). It
// bounded each read in time but not a request: a client sending a byte every few seconds held
// a worker forever; here a request must arrive whole within the read timeout, plus a second
// for every kServeMinBytesPerSecond, and its line and headers are at most 64 KiB. An idle
// connection ends at stop() rather than at its keep-alive timeout, and a request that already came
// is answered.
class HttpServer : public httplib::Server {
 public:
  HttpServer();

  // At most `connections` served at once, more wait to be accepted (ConnectionPool). An idle
  // keep-alive connection gives its worker up as soon as another connection waits for one.
  void set_max_connections(std::size_t connections);

  // Whether the request this thread was reading ran out of time (its refusal is a 408).
  static bool request_timed_out();

  // Why the request's framing is ambiguous ("" when it is not): a header name with a space in
  // it (httplib takes "Content-Length : 5" and a folded line for other headers), more than one
  // Content-Length, or both Content-Length and Transfer-Encoding. Where the body ends is then
  // a guess, and what follows could be taken for a request: such requests end their connection.
  static std::string framing_problem(const httplib::Request& request);

 private:
  bool process_and_close_socket(socket_t socket) override;
  // The loop learns from it whether an answer closes the connection.
  using httplib::Server::set_post_routing_handler;
  // The pool of the listen() under way, made by set_max_connections' task queue factory.
  std::atomic<ConnectionPool*> pool_{nullptr};
};

}  // namespace fmnist
