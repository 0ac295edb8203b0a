#include <memory>

#include "cli/commands.hpp"
#include "fmnist/serve/server.hpp"

namespace fmnist::cli {

void add_serve_command(CLI::App& app) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* command = app.add_subcommand(
      "serve", "Serve a checkpoint over HTTP: POST images to /v1/predict (see man fmnist)");
  command->add_option("model,--model", options->model_path, "Checkpoint to serve")
      ->capture_default_str();
  command
      ->add_option("--host", options->host,
                   "Address to listen on (another than loopback is reachable from other machines)")
      ->capture_default_str();
  command->add_option("--port", options->port, "Port to listen on; 0 picks a free one")
      ->check(whole_number(0, 65535))
      ->capture_default_str();
  command
      ->add_option("--max-batch", options->max_batch, "Most images classified in one forward pass")
      ->check(whole_number(1, 4096))
      ->capture_default_str();
  command
      ->add_option("--batch-wait-ms", options->batch_wait_ms,
                   "Wait up to this long for a fuller batch (0: take what is queued at once)")
      ->check(number_between(0, 1000))
      ->capture_default_str();
  command
      ->add_option("--max-queue", options->max_queue,
                   "Most images waiting for a forward pass, beyond which requests get 503 "
                   "with Retry-After (default: 16 x --max-batch)")
      ->check(whole_number(1));
  command
      ->add_option("--max-body-mb", options->max_body_mb,
                   "Largest request body in MiB; larger ones get 413 unread")
      ->check(number_between(0.001, 1024))
      ->capture_default_str();
  command
      ->add_option("--max-connections", options->max_connections,
                   "Connections served at once; more wait to be accepted")
      ->check(whole_number(1, 4096))
      ->capture_default_str();
  // `--token "$TOKEN"` with the variable unset would otherwise serve without a token.
  command
      ->add_option("--token", options->token,
                   "Require Authorization: Bearer TOKEN on every route but /healthz")
      ->check(CLI::Validator(
          [](const std::string& token) {
            return token.empty() ? std::string(
                                       "must not be empty (leave --token out to serve "
                                       "without one)")
                                 : std::string();
          },
          ""));
  command->add_flag("--tta", options->tta,
                    "Test-time augmentation: average each image's scores with its mirror's");
  add_runtime_flags(*command, options->device, options->threads);
  command->callback([options] { run_serve(*options); });
}

}  // namespace fmnist::cli
