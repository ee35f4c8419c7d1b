"""Debian's real nginx, run in the foreground on loopback ports with a throw-away prefix, from a copy of
deploy/nginx.conf whose compose-only values (listen ports, the panel's address, the volume paths, the
writable paths, the worker user) are rewritten. Every rewrite must match the file exactly as often as
expected, so a change to deploy/nginx.conf that the check no longer covers fails loudly."""

import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
import urllib.request


def find_nginx() -> str:
    found = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(found, os.X_OK):
        sys.exit("nginx check: nginx not found; install Debian's nginx (apt-get install nginx) or set NGINX")
    return found


def replace(text: str, old: str, new: str, count: int) -> str:
    found = text.count(old)
    if found != count:
        sys.exit(f"nginx check: deploy/nginx.conf has {found} × {old!r}, the check expects {count}; update "
                 "tests/deploy/nginx_proc.py together with the config")
    return text.replace(old, new)


def worker_user() -> str:
    """As root, workers run as `nobody` (a different user from the panel's files, as in compose, where
    nginx is uid 101 and the panel 10001); otherwise nginx ignores `user` and keeps the caller's."""
    if os.geteuid() != 0:
        return ""
    nobody = pwd.getpwnam("nobody")
    return f"user nobody {grp.getgrgid(nobody.pw_gid).gr_name};"


def derive(source: str, work: str, *, http_port: int, tls_port: int, panel_port: int, images_dir: str) -> str:
    """Writes the test config under `work` (TLS lines enabled) and returns its path."""
    with open(source) as f:
        text = f.read()
    text = replace(text, "user nginx;", worker_user(), 1)
    text = replace(text, "pid /var/run/nginx.pid;", f"pid {work}/nginx.pid;", 1)
    text = replace(text, "/var/cache/nginx/", f"{work}/cache/", 6)
    text = replace(text, "server 127.0.0.1:9090;", f"server 127.0.0.1:{panel_port};", 1)
    text = replace(text, "listen 8080;", f"listen 127.0.0.1:{http_port};", 1)
    text, enabled = re.subn(r"^(\s*)#tls ", r"\1", text, flags=re.MULTILINE)
    if enabled != 3:
        sys.exit(f"nginx check: deploy/nginx.conf has {enabled} '#tls ' lines, the check expects 3")
    text = replace(text, "listen 8443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;", 1)
    text = replace(text, "/etc/nginx/certs/", f"{work}/certs/", 2)
    text = replace(text, "alias /app/images/", f"alias {images_dir}/", 2)
    os.makedirs(f"{work}/cache", exist_ok=True)
    os.chmod(f"{work}/cache", 0o755)
    path = f"{work}/nginx.conf"
    with open(path, "w") as f:
        f.write(text)
    return path


def make_certificate(work: str) -> str:
    """A self-signed certificate for 127.0.0.1; returns the PEM the client trusts."""
    os.makedirs(f"{work}/certs", exist_ok=True)
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
               "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
               "-keyout", f"{work}/certs/privkey.pem", "-out", f"{work}/certs/fullchain.pem"]
    try:
        subprocess.run(command, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        sys.exit(f"nginx check: openssl could not make a test certificate: {error}")
    os.chmod(f"{work}/certs/privkey.pem", 0o644)
    return f"{work}/certs/fullchain.pem"


class Nginx:
    def __init__(self, binary: str, work: str, config: str):
        self.work = work
        self.log_path = f"{work}/nginx.log"
        command = [binary, "-p", f"{work}/", "-c", config, "-e", "stderr"]
        tested = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if tested.returncode != 0:
            sys.exit(f"nginx check: nginx -t refused the derived config:\n{tested.stderr}")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=self.log, stderr=self.log)

    def wait_ready(self, port: int) -> None:
        """Until nginx answers /health from the panel behind it (or exits)."""
        for _ in range(300):
            if self.process.poll() is not None:
                sys.exit(f"nginx check: nginx exited with {self.process.returncode}:\n{self.tail()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        sys.exit(f"nginx check: nginx did not answer /health:\n{self.tail()}")

    def tail(self) -> str:
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-30:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
