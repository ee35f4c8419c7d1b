"""Plain HTTP(S) requests from a chosen loopback source address, a Server-Sent Events reader, and a raw
`Expect: 100-continue` probe that learns whether a body size is accepted without sending the body."""

import http.client
import json
import socket
import ssl
from dataclasses import dataclass

# Guards against a hang only; no check passes or fails on how fast something arrives.
HANG_GUARD_SECONDS = 30


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        """The body as JSON, or {} when it is not JSON (so a check reports the body instead of crashing)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return {}


def connect(port: int, source: str | None = None, tls: ssl.SSLContext | None = None) -> http.client.HTTPConnection:
    source_address = (source, 0) if source else None
    if tls is not None:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=HANG_GUARD_SECONDS, context=tls,
                                           source_address=source_address)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_GUARD_SECONDS, source_address=source_address)


def request(port: int, method: str, path: str, *, headers: dict | None = None, body: bytes | dict | None = None,
            source: str | None = None, tls: ssl.SSLContext | None = None) -> Reply:
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        headers.setdefault("content-type", "application/json")
    conn = connect(port, source, tls)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


class EventStream:
    """One SSE response, read event by event as it arrives."""

    def __init__(self, port: int, path: str, headers: dict):
        self.conn = connect(port)
        # Asks for gzip like a browser: a compressed stream would be held back by the compressor.
        self.conn.request("GET", path, headers={"accept": "text/event-stream", "accept-encoding": "gzip, deflate",
                                                **headers})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers

    def next_event(self) -> tuple[str, object] | None:
        """The next `(event, data)`, skipping comments; None once the stream has ended.
        Raises TimeoutError when nothing at all arrives within the hang guard."""
        name, data = None, []
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line == "":
                if name is not None or data:
                    return name or "message", json.loads("\n".join(data))
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)

    def close(self) -> None:
        self.conn.close()


def expect_continue(port: int, path: str, length: int, content_type: str) -> Reply:
    """Declares a body of `length` bytes with `Expect: 100-continue` and sends none of it. Returns the
    first answer (status 100 = the server is ready to take that many bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_SECONDS) as sock:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n")
        sock.sendall(head.encode())
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        header_block, _, rest = received.partition(b"\r\n\r\n")
        lines = header_block.decode("latin-1").split("\r\n")
        headers = http.client.HTTPMessage()
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        status = int(lines[0].split(" ")[1])
        if status == 100:
            return Reply(status, headers, b"")
        size = int(headers.get("content-length", "0"))
        while len(rest) < size:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return Reply(status, headers, rest[:size])
