"""A real HTTP server on 127.0.0.1 (in a thread) that receives webhook deliveries in the tests.

Each path answers with a scripted list of (status, body, headers) replies; the last reply repeats.
"""

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    scripts: dict[str, list[tuple]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tls: ssl.SSLContext | None = None  # serve HTTPS with this server context
    server_names: list = field(default_factory=list)  # SNI names clients sent (HTTPS)

    def __post_init__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = self.path
                with receiver.lock:
                    receiver.received.append(Received(path, {k.lower(): v for k, v in self.headers.items()}, body))
                    script = receiver.scripts.get(path) or [(200, b"ok", {})]
                    reply = script.pop(0) if len(script) > 1 else script[0]
                status, reply_body, headers = reply
                if status == "sleep":
                    time.sleep(reply_body)
                    status, reply_body, headers = 200, b"late", {}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply_body)))
                self.end_headers()
                try:
                    self.wfile.write(reply_body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self.tls.sni_callback = lambda sock, name, ctx: self.server_names.append(name) and None
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def script(self, path: str, *replies) -> None:
        with self.lock:
            self.scripts[path] = list(replies)

    def requests_to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
