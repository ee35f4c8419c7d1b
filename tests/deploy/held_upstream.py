"""A GPT-compatible image upstream on loopback whose answers can be held back: while held, a generation
request is received (and counted) but not answered, so the panel's job provably stays unfinished."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HeldUpstream:
    def __init__(self, image: bytes):
        self.image = image
        self.released = threading.Event()
        self.released.set()
        self.arrivals = 0
        self.arrived = threading.Condition()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                with upstream.arrived:
                    upstream.arrivals += 1
                    upstream.arrived.notify_all()
                if not self.path.endswith("/images/generations"):
                    return self.answer(404, {"error": {"message": "no route"}})
                upstream.released.wait(120)
                self.answer(200, {"created": 1764000000, "data": [{"b64_json": base64.b64encode(upstream.image).decode()}]})

            def answer(self, status: int, reply: dict):
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hold(self) -> None:
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def wait_for_arrivals(self, count: int, timeout: float = 60) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: self.arrivals >= count, timeout)

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
