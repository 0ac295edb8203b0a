// The bench's HTTP load generator (scripts/bench.sh builds it with g++ and cpp-httplib): CLIENTS
// threads, each on one keep-alive connection, POST the same body REQUESTS times and time every
// answer. Prints key=value lines: requests, errors (a failed exchange or a status other than
// 200), median_ms, p99_ms, img_s (requests answered per second of the whole run).
//
// usage: serve_load PORT PATH BODY_FILE CONTENT_TYPE CLIENTS REQUESTS
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: serve_load PORT PATH BODY_FILE CONTENT_TYPE CLIENTS REQUESTS\n");
    return 2;
  }
  const int port = std::stoi(argv[1]);
  const std::string path = argv[2], type = argv[4];
  std::ifstream file(argv[3], std::ios::binary);
  const std::string body((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const int clients = std::stoi(argv[5]), requests = std::stoi(argv[6]);
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<int> errors{0};
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // as curl and browsers do: no Nagle delay per request
      client.set_read_timeout(30);
      for (int r = 0; r < requests; ++r) {
        const Clock::time_point sent = Clock::now();
        auto result = client.Post(path, body, type);
        latencies[c].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        if (!result || result->status != 200) ++errors;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto at = [&](double q) { return all[static_cast<std::size_t>(q * (all.size() - 1))]; };
  std::printf("requests=%zu\nerrors=%d\nmedian_ms=%.3f\np99_ms=%.3f\nimg_s=%.1f\n", all.size(),
              errors.load(), at(0.5), at(0.99), all.size() / seconds);
  return 0;
}
