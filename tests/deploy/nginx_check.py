"""deploy/nginx.conf in front of the real panel server, over real HTTP on loopback: Debian's nginx runs
the file (ports and paths rewritten, TLS lines enabled) before a panel started with
ENABLE_NGINX_ACCEL_REDIRECT=true, TRUST_PROXY_HEADERS=true and TRUSTED_PROXY_IPS=127.0.0.1 — the same
trust set-up as the compose profile, where nginx shares the panel's network namespace.

    python3 tests/deploy/nginx_check.py --bin target/debug/gpt-image-panel   (or scripts/nginx-check)

Checks: the access gate through nginx; X-Forwarded-Proto/Host (CSRF origin over TLS); SSE events
leaving nginx while their job is provably unfinished; gallery bytes served by nginx through the panel's
X-Accel-Redirect, `/_protected/…` refused from outside; cached immutable assets; upload size limits
equal to the panel's; X-Forwarded-For trusted from nginx only (seen through the per-IP access lockout,
with other loopback addresses as separate clients).
"""

import argparse
import contextlib
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
sys.path.insert(0, HERE)

import nginx_proc  # noqa: E402
from http_probe import EventStream, Reply, expect_continue, request  # noqa: E402
from mock_upstream import MockUpstream, png  # noqa: E402
from panel_server import ACCESS_KEY, free_port, start  # noqa: E402

KEY_VARIABLE = "NGINX_CHECK_UPSTREAM_KEY"
MIB = 1024 * 1024
MAX_FAILURES = 3
TERMINAL = {"success", "partial_failure", "error", "upstream_error", "cancelled", "interrupted"}


class Failure(Exception):
    pass


def check(condition: bool, what: str, detail: object = "") -> None:
    if not condition:
        raise Failure(f"{what} — got {detail!r}" if detail != "" else what)
    print(f"  ok  {what}")


def status(reply: Reply, expected: int, what: str) -> Reply:
    check(reply.status == expected, f"{what} → {expected}", (reply.status, reply.body[:300]))
    return reply


class Deployment:
    """Ports, paths and the session shared by the checks."""

    def __init__(self, nginx: int, tls: int, panel: int, panel_dir: str, tls_context: ssl.SSLContext, image: bytes):
        self.nginx, self.tls, self.panel = nginx, tls, panel
        self.panel_dir = panel_dir
        self.tls_context = tls_context
        self.image = image
        self.cookie = ""

    def origin(self, port: int, scheme: str = "http") -> dict:
        return {"origin": f"{scheme}://127.0.0.1:{port}"}

    def session(self, port: int | None = None) -> dict:
        return {"cookie": self.cookie, **self.origin(port or self.nginx)}

    def via_nginx(self, method: str, path: str, **kw) -> Reply:
        return request(self.nginx, method, path, **kw)

    def direct(self, method: str, path: str, **kw) -> Reply:
        return request(self.panel, method, path, **kw)


def access_gate(d: Deployment) -> None:
    print("access gate through nginx")
    reply = status(d.via_nginx("GET", "/api/gallery"), 401, "GET /api/gallery without the cookie")
    check(reply.json().get("error_code") == "authentication_required", "the 401 is the panel's gate", reply.body)
    reply = status(d.via_nginx("POST", "/api/access", headers=d.origin(d.nginx), body={"access_key": ACCESS_KEY}),
                   200, "POST /api/access with the key (Origin carries nginx's port)")
    cookie = reply.headers.get("set-cookie", "")
    check("gpt_image_access=" in cookie, "nginx passes the session cookie on", cookie)
    d.cookie = cookie.split(";")[0]
    reply = status(d.via_nginx("GET", "/api/gallery", headers=d.session()), 200, "GET /api/gallery with the cookie")
    check(reply.json().get("images") == [], "the gallery is served (and still empty)", reply.body)


def forwarded_proto(d: Deployment) -> None:
    print("X-Forwarded-Proto and X-Forwarded-Host")
    key = {"access_key": ACCESS_KEY}
    status(request(d.tls, "POST", "/api/access", headers=d.origin(d.tls, "https"), body=key, tls=d.tls_context),
           200, "over TLS, an https Origin passes the panel's CSRF check (it trusts nginx's X-Forwarded-Proto)")
    reply = status(request(d.tls, "POST", "/api/access", headers=d.origin(d.tls, "http"), body=key, tls=d.tls_context),
                   403, "over TLS, an http Origin is refused")
    check(reply.json().get("error_code") == "csrf_rejected", "… by the CSRF check", reply.body)
    spoof = {**d.origin(d.nginx, "https"), "x-forwarded-proto": "https"}
    reply = status(d.via_nginx("POST", "/api/access", headers=spoof, body=key), 403,
                   "over plain HTTP, a client's own X-Forwarded-Proto: https does not get an https Origin through")
    check(reply.json().get("error_code") == "csrf_rejected", "… nginx replaced the header with its real scheme",
          reply.body)


def live_events(d: Deployment, upstream: MockUpstream) -> str:
    """Returns the file name of the image the job made."""
    print("SSE through nginx")
    preset = {"name": "Held upstream", "api_url": f"{upstream.url}/v1", "api_key": f"${{{KEY_VARIABLE}}}"}
    status(d.via_nginx("POST", "/api/settings/presets", headers=d.session(), body=preset), 200,
           "POST /api/settings/presets (the mock upstream)")
    feed = EventStream(d.nginx, "/api/generate/jobs/events", d.session())
    job_stream = None
    try:
        check(feed.status == 200 and feed.headers.get("content-type", "").startswith("text/event-stream"),
              "GET /api/generate/jobs/events opens an event stream", (feed.status, feed.headers.get("content-type")))
        check("content-encoding" not in feed.headers and "content-length" not in feed.headers,
              "… passed on as is (not compressed, not collected), though the client accepts gzip",
              dict(feed.headers))
        first = read_event(feed, "the job feed's first event")
        check(first == ("jobs", []), "the feed's first event (no active jobs) arrives while the stream stays open", first)

        upstream.hold()
        reply = status(d.via_nginx("POST", "/api/generate", headers=d.session(),
                                   body={"prompt": "a harbour crane at night", "size": "1024x1024"}),
                       202, "POST /api/generate")
        job_id = reply.json()["job_id"]
        check(upstream.wait_for_arrivals(1), "the upstream has the generation and holds its answer")

        job_stream = EventStream(d.nginx, f"/api/generate/{job_id}/events", d.session())
        check(job_stream.status == 200, f"GET /api/generate/{job_id}/events opens", job_stream.status)
        name, job = read_event(job_stream, "the job stream's first event")
        check(name == "job" and job.get("job_id") == job_id and job.get("status") not in TERMINAL,
              "the job's first event arrives through nginx before the job can end", (name, job.get("status")))
        seen = live_job_in_feed(feed, job_id)
        check(seen not in TERMINAL and not upstream.released.is_set(),
              "the feed delivers a live event for the new job while it is still held", seen)

        upstream.release()
        statuses = [job["status"]]
        while (event := read_event(job_stream, "the job stream after the upstream answered", True)) is not None:
            statuses.append(event[1].get("status"))
        check(statuses[-1] == "success" and all(s not in TERMINAL for s in statuses[:-1]),
              "after the answer the job stream ends with the terminal event, in order", statuses)
    finally:
        feed.close()
        if job_stream is not None:
            job_stream.close()
    job = status(d.via_nginx("GET", f"/api/generate/{job_id}", headers=d.session()), 200, "GET the finished job")
    return job.json()["images"][0]["filename"]


def gallery_export(d: Deployment, filename: str) -> None:
    """A gallery job's SSE route and the streaming ZIP download route."""
    reply = status(d.via_nginx("POST", "/api/gallery/export-jobs", headers=d.session(), body={}), 202,
                   "POST /api/gallery/export-jobs")
    job_id = reply.json()["job_id"]
    stream = EventStream(d.nginx, f"/api/gallery/export-jobs/{job_id}/events", d.session())
    try:
        check(stream.status == 200, "its event stream opens through nginx", stream.status)
        events = []
        while (event := read_event(stream, "the export job's events", True)) is not None:
            events.append(event)
    finally:
        stream.close()
    check(bool(events) and all(name == "export" for name, _ in events) and events[-1][1].get("status") == "success",
          "… delivers `export` events up to success, then ends", [(n, e.get("status")) for n, e in events])
    download = status(d.via_nginx("GET", events[-1][1]["download_url"], headers=d.session()), 200,
                      "the ZIP download through nginx")
    check(download.body.startswith(b"PK") and filename.encode() in download.body,
          "… is a ZIP holding the gallery image", download.body[:40])


def read_event(stream: EventStream, what: str, end_ok: bool = False):
    try:
        event = stream.next_event()
    except TimeoutError:
        raise Failure(f"{what} did not arrive; nginx holds events back (buffering) instead of passing them on")
    if event is None and not end_ok:
        raise Failure(f"{what}: the stream ended instead")
    return event


def live_job_in_feed(feed: EventStream, job_id: str) -> str:
    for _ in range(50):
        name, data = read_event(feed, "a live event on the job feed")
        jobs = data if name == "jobs" else [data]
        for job in jobs:
            if job.get("job_id") == job_id:
                return job.get("status")
    raise Failure("the job feed never mentioned the new job")


def accel_media(d: Deployment, filename: str) -> None:
    print("gallery bytes through X-Accel-Redirect")
    with open(os.path.join(d.panel_dir, "images", filename), "rb") as f:
        on_disk = f.read()
    check(on_disk == d.image, "the gallery file holds the upstream's image")
    path = f"/api/image/{filename}"
    direct = status(d.direct("GET", path, headers={"cookie": d.cookie}), 200, f"panel itself: GET {path}")
    check(direct.headers.get("x-accel-redirect") == f"/_protected/images/{filename}" and direct.body == b"",
          "the panel answers with X-Accel-Redirect and no body", (direct.headers.get("x-accel-redirect"), len(direct.body)))
    via = status(d.via_nginx("GET", path, headers={"cookie": d.cookie}), 200, f"through nginx: GET {path}")
    check(via.body == on_disk, "nginx sends the image's bytes from the aliased images directory", len(via.body))
    check(via.headers.get("content-type") == "image/png" and "x-accel-redirect" not in via.headers,
          "with the panel's Content-Type and without the internal header", dict(via.headers))
    check(via.headers.get_all("cache-control") == ["private, max-age=31536000, immutable"],
          "the panel's private Cache-Control is kept, and only it", via.headers.get_all("cache-control"))
    panel_headers_kept(via, direct)
    ranged = status(d.via_nginx("GET", path, headers={"cookie": d.cookie, "range": "bytes=0-7"}), 206,
                    "a Range request through nginx")
    check(ranged.body == on_disk[:8] and ranged.headers.get("content-range") == f"bytes 0-7/{len(on_disk)}",
          "… gets exactly those bytes", ranged.headers.get("content-range"))
    download = status(d.via_nginx("GET", f"/api/download/{filename}", headers={"cookie": d.cookie}), 200,
                      "through nginx: GET /api/download/…")
    disposition = download.headers.get("content-disposition", "")
    check(download.body == on_disk and disposition.startswith('attachment; filename="gpt-image-'),
          "the download keeps the panel's Content-Disposition", disposition)
    status(d.via_nginx("GET", path), 401, "the image without the cookie")

    thumb = wait_for_thumbnail(d, filename)
    direct = status(d.direct("GET", f"/api/thumb/{filename}", headers={"cookie": d.cookie}), 200,
                    "panel itself: GET /api/thumb/…")
    accel = direct.headers.get("x-accel-redirect", "")
    check(accel.startswith("/_protected/thumbs/") and direct.body == b"", "the thumbnail is handed to nginx too",
          accel)
    with open(os.path.join(d.panel_dir, "images", "thumbs", accel.rsplit("/", 1)[1]), "rb") as f:
        check(thumb.body == f.read() and thumb.headers.get("content-type") == "image/webp",
              "nginx sends the thumbnail's bytes from the aliased thumbnails directory", len(thumb.body))
    panel_headers_kept(thumb, direct)

    for outside in (f"/_protected/images/{filename}", accel, f"/%5Fprotected/images/{filename}",
                    f"/_protected/images/../images/{filename}"):
        reply = d.via_nginx("GET", outside, headers={"cookie": d.cookie})
        check(reply.status == 404 and on_disk not in reply.body, f"GET {outside} from outside → 404", reply.status)


def panel_headers_kept(via: Reply, direct: Reply) -> None:
    """nginx drops the panel's headers on an X-Accel-Redirect; the internal location must restore them."""
    kept = {name: (via.headers.get_all(name), direct.headers.get_all(name))
            for name in ("cache-control", "x-content-type-options", "referrer-policy", "content-security-policy",
                         "vary")}
    check(all(ours == theirs and ours for ours, theirs in kept.values()),
          "the panel's Cache-Control, security headers and Vary arrive, once each", kept)
    correlation = via.headers.get_all("x-correlation-id") or []
    check(len(correlation) == 1 and re.fullmatch(r"[0-9a-f]{32}", correlation[0]), "… and a correlation id",
          correlation)


def wait_for_thumbnail(d: Deployment, filename: str) -> Reply:
    for _ in range(150):
        reply = d.via_nginx("GET", f"/api/thumb/{filename}", headers={"cookie": d.cookie})
        if reply.status != 404:
            return status(reply, 200, "through nginx: GET /api/thumb/…")
        time.sleep(0.2)
    raise Failure("the thumbnail never became ready")


def immutable_assets(d: Deployment) -> None:
    print("immutable frontend assets")
    index = status(d.via_nginx("GET", "/"), 200, "GET / through nginx")
    assets = re.findall(r'/_app/immutable/[^"\'\s]+\.js', index.body.decode())
    check(bool(assets), "the page names hashed scripts under /_app/immutable/", index.body[:200])
    first = status(d.via_nginx("GET", assets[0]), 200, f"GET {assets[0]}")
    cache = first.headers.get("cache-control", "")
    check("immutable" in cache and "max-age=31536000" in cache and "public" in cache,
          "it is cacheable for a year", cache)
    second = status(d.via_nginx("GET", assets[0]), 200, "the same asset again")
    check(second.headers.get("x-cache-status") == "HIT" and second.body == first.body,
          "nginx serves the repeat from its cache", second.headers.get("x-cache-status"))
    missing = "/_app/immutable/not-there.js"
    d.via_nginx("GET", missing)
    again = d.via_nginx("GET", missing)
    check(again.headers.get("x-cache-status") != "HIT", "the no-cache SPA fallback is never cached",
          again.headers.get("x-cache-status"))


def body_limits(d: Deployment) -> None:
    print("upload size limits")
    multipart = "multipart/form-data; boundary=nginx-check"
    cases = [("/api/import", 1000 * MIB, multipart, "IMPORT_ARCHIVE_MAX_MB"),
             ("/api/edits", (50 * 16 + 1) * MIB, multipart, "MAX_FILE_SIZE_MB × 16 + 1"),
             ("/api/prompt-snippets", 50 * MIB, "application/octet-stream", "MAX_FILE_SIZE_MB")]
    for path, limit, content_type, setting in cases:
        reply = expect_continue(d.nginx, path, limit, content_type)
        check(reply.status == 100, f"{path}: nginx takes a body of exactly {limit // MIB} MiB ({setting})",
              reply.status)
        panel = expect_continue(d.panel, path, limit + 1, content_type)
        check(panel.status == 413, f"{path}: the panel refuses one byte more", (panel.status, panel.body[:200]))
        reply = expect_continue(d.nginx, path, limit + 1, content_type)
        check(reply.status == 413, f"{path}: so does nginx", (reply.status, reply.body[:200]))
        ours, theirs = reply.json(), panel.json()
        correlation = ours.pop("correlation_id", "")
        theirs.pop("correlation_id", None)
        check(list(ours.items()) == list(theirs.items()) and re.fullmatch(r"[0-9a-f]{32}", correlation)
              and reply.headers.get("x-correlation-id") == correlation
              and reply.headers.get("content-type") == panel.headers.get("content-type"),
              "… with the panel's error body and a correlation id", (reply.body, reply.headers.items()))


def forwarded_for(d: Deployment) -> None:
    print("X-Forwarded-For trusted from nginx only (seen through the per-IP access lockout)")
    right, wrong = {"access_key": ACCESS_KEY}, {"access_key": "not-the-key"}
    to_nginx, to_panel = d.origin(d.nginx), d.origin(d.panel)
    for attempt in range(1, MAX_FAILURES + 1):
        status(d.via_nginx("POST", "/api/access", headers=to_nginx, body=wrong, source="127.0.0.3"), 401,
               f"client 127.0.0.3 through nginx, wrong key #{attempt}")
    status(d.via_nginx("POST", "/api/access", headers=to_nginx, body=right, source="127.0.0.3"), 429,
           "client 127.0.0.3 is now locked out, even with the right key")
    status(d.via_nginx("POST", "/api/access", headers=to_nginx, body=right, source="127.0.0.4"), 200,
           "client 127.0.0.4 through the same nginx is not (the lock is not on nginx's own address)")
    status(d.direct("POST", "/api/access", headers=to_panel, body=right, source="127.0.0.3"), 429,
           "127.0.0.3 straight to the panel is locked: the panel keyed it on the address nginx forwarded")
    spoof = {**to_panel, "x-forwarded-for": "127.0.0.3", "x-real-ip": "127.0.0.3"}
    status(d.direct("POST", "/api/access", headers=spoof, body=right, source="127.0.0.2"), 200,
           "127.0.0.2 straight to the panel claiming X-Forwarded-For: 127.0.0.3 is not taken for it")
    for attempt in range(1, MAX_FAILURES + 1):
        headers = {**to_panel, "x-forwarded-for": f"198.51.100.{attempt}"}
        status(d.direct("POST", "/api/access", headers=headers, body=wrong, source="127.0.0.2"), 401,
               f"127.0.0.2 straight to the panel, wrong key #{attempt} under a made-up X-Forwarded-For")
    status(d.direct("POST", "/api/access", headers=to_panel, body=right, source="127.0.0.2"), 429,
           "… the failures counted against 127.0.0.2 itself")
    borrowed = {**to_nginx, "x-forwarded-for": "127.0.0.3", "x-real-ip": "127.0.0.3"}
    status(d.via_nginx("POST", "/api/access", headers=borrowed, body=right, source="127.0.0.5"), 200,
           "client 127.0.0.5 sending X-Forwarded-For: 127.0.0.3 to nginx is still 127.0.0.5")


def stop_panel(server) -> None:
    """SIGTERM and wait; the panel takes its grace period (about 10 s) once an SSE stream has been open."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        print("nginx check: the panel ignored SIGTERM for 30 s; killed it", file=sys.stderr)
        server.kill()
        server.wait()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_deferred = {"depth": 0, "signal": None}


def on_signal(signum, _frame):
    if _deferred["depth"]:
        _deferred["signal"] = signum
        return
    raise SystemExit(f"nginx check: stopped by signal {signum}")


@contextlib.contextmanager
def signals_deferred():
    """Holds a stop signal back while a child process is started, so none is left running unrecorded.
    (Not with the signal mask: children would inherit it and ignore SIGTERM.)"""
    _deferred["depth"] += 1
    try:
        yield
    finally:
        _deferred["depth"] -= 1
    if _deferred["signal"] is not None:
        raise SystemExit(f"nginx check: stopped by signal {_deferred['signal']}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.environ.get("PANEL_BIN"), help="the gpt-image-panel binary")
    parser.add_argument("--config", default=os.path.join(ROOT, "deploy", "nginx.conf"))
    args = parser.parse_args()
    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    if not args.bin or not os.access(args.bin, os.X_OK):
        sys.exit(f"nginx check: no server binary at {args.bin!r} (pass --bin or PANEL_BIN)")
    nginx_binary = nginx_proc.find_nginx()

    work = tempfile.mkdtemp(prefix="nginx-check-")
    os.chmod(work, 0o755)  # nginx workers run as another user (as root: nobody) and must reach the images
    panel_dir, nginx_dir = os.path.join(work, "panel"), os.path.join(work, "nginx")
    os.makedirs(panel_dir)
    os.makedirs(nginx_dir)
    image = png(96, 64, (20, 120, 200))
    upstream = MockUpstream(image)
    server = nginx = None
    failed = True
    try:
        panel_port, http_port, tls_port = free_port(), free_port(), free_port()
        with signals_deferred():
            server = start(args.bin, panel_dir, panel_port, {
                "ENABLE_NGINX_ACCEL_REDIRECT": "true",
                "TRUST_PROXY_HEADERS": "true",
                "TRUSTED_PROXY_IPS": "127.0.0.1",
                "ACCESS_MAX_FAILURES": str(MAX_FAILURES),
                "UPSTREAM_ALLOW_PRIVATE_NETWORK": "true",
                KEY_VARIABLE: "sk-nginx-check-upstream",
            })
        certificate = nginx_proc.make_certificate(nginx_dir)
        config = nginx_proc.derive(args.config, nginx_dir, http_port=http_port, tls_port=tls_port,
                                   panel_port=panel_port, images_dir=os.path.join(panel_dir, "images"))
        with signals_deferred():
            nginx = nginx_proc.Nginx(nginx_binary, nginx_dir, config)
        nginx.wait_ready(http_port)
        print(f"nginx check: {os.path.relpath(args.config, ROOT)} (TLS on) in front of the panel")
        d = Deployment(http_port, tls_port, panel_port, panel_dir, ssl.create_default_context(cafile=certificate), image)
        access_gate(d)
        forwarded_proto(d)
        filename = live_events(d, upstream)
        gallery_export(d, filename)
        accel_media(d, filename)
        immutable_assets(d)
        body_limits(d)
        forwarded_for(d)
        failed = False
    except Failure as failure:
        print(f"nginx check: FAILED: {failure}", file=sys.stderr)
    finally:
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the cleanup short
        if failed:
            if nginx is not None:
                print(f"--- nginx log (last lines)\n{nginx.tail()}", file=sys.stderr)
            log = os.path.join(panel_dir, "server.log")
            if os.path.exists(log):
                with open(log) as f:
                    print(f"--- panel log (last lines)\n{''.join(f.readlines()[-30:])}", file=sys.stderr)
        cleanup = [upstream.release]
        if nginx is not None:
            cleanup.append(nginx.stop)
        if server is not None:
            cleanup.append(lambda: stop_panel(server))
        cleanup += [upstream.close, lambda: shutil.rmtree(work, ignore_errors=True)]
        for step in cleanup:
            try:
                step()
            except Exception as error:  # keep cleaning up; report what went wrong
                print(f"nginx check: cleanup: {error!r}", file=sys.stderr)
    if failed:
        return 1
    print("nginx check: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
