"""Runs Schemathesis against a real panel server: starts the binary on a loopback port with a
throw-away data directory, unlocks it, and tests every operation of the served /openapi.json (SSE
routes and /api/access left out) with all checks and phases. Exits with Schemathesis' status.

    python3 tests/api/run_contract.py --bin target/debug/gpt-image-panel [--examples 100] [--seed N]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ACCESS_KEY = "contract-access-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary: str, data: str, port: int) -> subprocess.Popen:
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
    }
    log = open(os.path.join(data, "server.log"), "w")
    server = subprocess.Popen([binary], cwd=data, env=env, stdout=log, stderr=log)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    sys.exit(f"the server did not answer /health; log in {data}/server.log")


def unlock(base: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/access",
        data=json.dumps({"access_key": ACCESS_KEY}).encode(),
        headers={"content-type": "application/json", "origin": base},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return response.headers["set-cookie"].split(";")[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--st", default="st")
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="panel-contract-") as data:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start(os.path.abspath(args.bin), data, port)
        try:
            cookie = unlock(base)
            spec = os.path.join(data, "openapi.json")
            request = urllib.request.Request(f"{base}/openapi.json", headers={"cookie": cookie})
            with urllib.request.urlopen(request) as response, open(spec, "wb") as out:
                out.write(response.read())
            command = [
                args.st, "--config-file", os.path.join(HERE, "schemathesis.toml"), "run", spec,
                "--url", base, "-H", f"cookie: {cookie}", "-H", f"origin: {base}",
                "--checks", "all", "--exclude-path-regex", "(/events$|^/api/access$)",
                "--max-examples", str(args.examples), "--workers", "2",
            ]
            if args.seed is not None:
                command += ["--seed", str(args.seed)]
            # Run in the scratch dir so Schemathesis' cache stays out of the checkout.
            return subprocess.run(command, cwd=data).returncode
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
