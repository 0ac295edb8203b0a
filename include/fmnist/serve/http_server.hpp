#pragma once

#include <httplib.h>

namespace fmnist {

// httplib's server with fmnist's connection loop. httplib 0.11 makes some 13 system calls per
// request on a keep-alive connection (a poll before every read and two before every write,
// the peer's and its own address looked up again) and sends the status line and headers apart
// from the body, so a client is woken twice per answer; it also drops whatever a client sent
// after the request it is reading (a pipelined request). Here each connection keeps one read
// buffer for its life, looks its addresses up once, and sends each answer in one write: a
// request on a warm connection takes a poll, a recv and a send. Requests are still parsed and
// routed by httplib (Server::process_request, the hook httplib's own SSLServer overrides).
class HttpServer : public httplib::Server {
 private:
  bool process_and_close_socket(socket_t socket) override;
};

}  // namespace fmnist
