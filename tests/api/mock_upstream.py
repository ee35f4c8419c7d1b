"""A GPT-compatible image upstream on a loopback port, for the Python-side API checks: answers
`POST …/images/generations` and `POST …/images/edits` with one base64 PNG and records what it got. Answers can be held back
(`hold`/`release`): a request is then received and counted but not answered, so a job provably
stays unfinished."""

import base64
import json
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour RGB PNG, written out by hand so the checks need no imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")


class MockUpstream:
    def __init__(self, image: bytes):
        self.image = image
        self.requests: list[dict] = []
        self.released = threading.Event()
        self.released.set()
        self.arrived = threading.Condition()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with upstream.arrived:
                    upstream.requests.append({
                        "path": self.path,
                        "authorization": self.headers.get("authorization"),
                        "content_type": self.headers.get("content-type", ""),
                        "body": body,
                    })
                    upstream.arrived.notify_all()
                if self.path.endswith(("/images/generations", "/images/edits")):
                    upstream.released.wait(120)
                    reply = {"created": 1764000000, "data": [{"b64_json": base64.b64encode(upstream.image).decode()}]}
                    self.answer(200, reply)
                else:
                    self.answer(404, {"error": {"message": "no route"}})

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

    def requests_to(self, suffix: str) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith(suffix)]

    def hold(self) -> None:
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def wait_for_arrivals(self, count: int, timeout: float = 60) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    def close(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()
