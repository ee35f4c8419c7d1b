"""Runs Schemathesis against a real panel server: starts the binary on a loopback port with a
throw-away data directory, unlocks it, and tests every operation of the served /openapi.json (SSE
routes and /api/access left out) with all checks and phases. Exits with Schemathesis' status.

    python3 tests/api/run_contract.py --bin target/debug/gpt-image-panel [--examples 100] [--seed N] [st options]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

from panel_server import free_port, start, stop, unlock

HERE = os.path.dirname(os.path.abspath(__file__))
# Overall Config settings the tester's copy of the document leaves out of `ConfigUpdate` (every other
# setting is fuzzed): those that decide how the tester itself reaches the server (its cookie, its
# address, its Host and Origin headers), which saved at random would lock the rest of the run out,
# and those under whose defaults the document describes the server (literal secrets refused,
# `https://` upstreams on public hosts only).
FIXED_SETTINGS = {
    "ACCESS_KEY_COOKIE_NAME", "ACCESS_COOKIE_SECURE", "ALLOW_UNAUTHENTICATED", "IP_ALLOWLIST",
    "ALLOWED_HOSTS", "PUBLIC_ORIGIN", "CSRF_ORIGIN_CHECK_ENABLED", "TRUST_PROXY_HEADERS",
    "TRUSTED_PROXY_IPS", "ACCESS_MAX_FAILURES", "ACCESS_LOCKOUT_SECONDS",
    "ALLOW_PLAINTEXT_SECRETS", "UPSTREAM_ALLOW_PRIVATE_NETWORK",
}


def without_fixed_settings(spec: dict) -> dict:
    update = spec["components"]["schemas"]["ConfigUpdate"]
    update["oneOf"] = [
        branch for branch in update["oneOf"]
        if branch["properties"]["clear_override"]["enum"] == [True]
        or re.search(r"\]\*([A-Z0-9_]+)\[", branch["properties"]["name"]["pattern"]).group(1) not in FIXED_SETTINGS
    ]
    for schema in [update["properties"]["name"], update["oneOf"][0]["properties"]["name"]]:
        prefix, names, suffix = re.match(r"^(.*\(\?:)([^()]*)(\).*)$", schema["pattern"]).groups()
        kept = [name for name in names.split("|") if name not in FIXED_SETTINGS]
        schema["pattern"] = prefix + "|".join(kept) + suffix
    return spec


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--st", default="st")
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None)
    args, extra = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="panel-contract-") as data:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start(args.bin, data, port)
        try:
            cookie = unlock(base)
            spec = os.path.join(data, "openapi.json")
            request = urllib.request.Request(f"{base}/openapi.json", headers={"cookie": cookie})
            with urllib.request.urlopen(request) as response, open(spec, "w") as out:
                json.dump(without_fixed_settings(json.load(response)), out)
            command = [
                args.st, "--config-file", os.path.join(HERE, "schemathesis.toml"), "run", spec,
                "--url", base, "-H", f"cookie: {cookie}", "-H", f"origin: {base}",
                "--checks", "all", "--exclude-path-regex", "(/events$|^/api/access$)",
                "--max-examples", str(args.examples), "--workers", "2",
            ]
            if args.seed is not None:
                command += ["--seed", str(args.seed)]
            command += extra  # e.g. --include-operation-id edit, while looking into one route
            # Run in the scratch dir so Schemathesis' cache stays out of the checkout.
            env = dict(os.environ, SCHEMATHESIS_HOOKS=os.path.join(HERE, "hooks.py"))
            return subprocess.run(command, cwd=data, env=env).returncode
        finally:
            stop(server)


if __name__ == "__main__":
    sys.exit(main())
