"""A real panel server for the Python-side API checks: the binary on a loopback port with a
throw-away data directory, and the access cookie it hands out."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

ACCESS_KEY = "python-checks-access-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary: str, data: str, port: int, extra_env: dict | None = None) -> subprocess.Popen:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": data,
        "PORT": str(port),
        "ACCESS_KEY": ACCESS_KEY,
        "ACCESS_COOKIE_SECURE": "false",
        "ENABLE_VERSION_CHECK": "false",
        "LOG_LEVEL": "warn",
        "DATA_DIR": os.path.join(data, "data"),
        "DATABASE_FILE": os.path.join(data, "data", "app.sqlite3"),
        "IMAGES_DIR": os.path.join(data, "images"),
        "THUMBNAILS_DIR": os.path.join(data, "images", "thumbs"),
        **(extra_env or {}),
    }
    log = open(os.path.join(data, "server.log"), "w")
    server = subprocess.Popen([os.path.abspath(binary)], cwd=data, env=env, stdout=log, stderr=log)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    sys.exit(f"the server did not answer /health; log in {data}/server.log")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=10)


def unlock(base: str) -> str:
    """Unlocks with the access key; returns the `name=value` of the access cookie."""
    request = urllib.request.Request(
        f"{base}/api/access",
        data=json.dumps({"access_key": ACCESS_KEY}).encode(),
        headers={"content-type": "application/json", "origin": base},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return response.headers["set-cookie"].split(";")[0]
