"""The bench's Python baseline for `fmnist serve`: http.server's ThreadingHTTPServer and torch,
serving the same fmnist checkpoint (to_pytorch.load_fmnist) with predict.py's preprocessing.
POST /v1/predict takes the image bytes and answers fmnist's JSON document; one thread per
connection, keep-alive (HTTP/1.1), as fmnist serve.

usage: serve.py MODEL.pt PORTFILE --threads N   (listens on a free port, written to PORTFILE)
"""
import argparse
import io
import json
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from predict import preprocess  # noqa: E402  (scripts/bench)
from to_pytorch import load_fmnist  # noqa: E402  (scripts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("portfile")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, metadata = load_fmnist(args.model)
    classes = metadata["class_names"]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once, as fmnist serve's

        def log_message(self, *_):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                with torch.inference_mode():
                    probabilities = model(preprocess(io.BytesIO(body))).softmax(1)[0]
                best = int(probabilities.argmax())
                reply = {"predictions": [{"input": "image", "top": [
                    {"label": best, "class": classes[best],
                     "probability": float(probabilities[best])}]}], "failed": 0}
                status = 200
            except Exception as error:  # noqa: BLE001  (any bad image is the client's 400)
                reply, status = {"error": str(error)}, 400
            data = (json.dumps(reply) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    class Server(ThreadingHTTPServer):
        # The default listen backlog of 5 drops the handshakes of a burst of 16 clients, which
        # retry a second later; fmnist serve listens with SOMAXCONN, and so does this baseline.
        request_queue_size = socket.SOMAXCONN

    server = Server(("127.0.0.1", 0), Handler)
    with open(args.portfile, "w") as portfile:
        portfile.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
