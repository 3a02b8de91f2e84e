"""Chat webhooks on 127.0.0.1 for the alert tests: one that records what it is sent (a real HTTP
server in a thread), and one that accepts connections and never answers."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "T0K3N-b7e2"  # the secret part of a webhook's URL, distinctive so tests can search for it


class RecordingWebhook:
    """Answers every POST with ``status`` and records ``(path, parsed JSON body)``."""

    def __init__(self, status: int = 200):
        self.status, self.received = status, []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/{TOKEN}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def messages(self) -> list[dict]:
        with self._lock:
            return [body for _, body in self.received]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with webhook._lock:
                    webhook.received.append((self.path, json.loads(body)))
                self.send_response(webhook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep the test output clean
                pass

        return Handler


class SilentWebhook:
    """A listening socket nobody reads: the kernel completes connections, no answer ever comes."""

    def __init__(self):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/hooks/{TOKEN}"

    def close(self) -> None:
        self._socket.close()
