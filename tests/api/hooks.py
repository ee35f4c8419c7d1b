"""Schemathesis hooks for the panel's contract run (tests/api/run_contract.py).

A 422 means "the request does not match the OpenAPI document", with one kind of exception the
contract itself fixes: refusals that depend on the server's settings, environment or network rather
than on the request's shape. A schema cannot follow those, so a schema-valid request that gets one
of them is not a disagreement. Each is listed here with the reason; any other 422 on schema-valid
data still fails the run.
"""

import re

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

STATE_DEPENDENT_422 = [
    # ALLOW_PLAINTEXT_SECRETS decides whether a literal secret is taken (contract core §5.1).
    (r"must use \$\{ENV_VAR_NAME\} unless ALLOW_PLAINTEXT_SECRETS=true\.", "setting"),
    # A stored `${NAME}` is read when used; whether NAME is set is the server's environment (§5.1, §5.4).
    (r"environment variable [A-Za-z_][A-Za-z0-9_]* is not set or empty", "environment"),
    (r"API credential is not configured", "stored preset state (core §5.4)"),
    # SSRF rules: blocked names and private addresses depend on UPSTREAM_ALLOW_PRIVATE_NETWORK, the
    # allowlists are settings, and what a name resolves to is the network's answer.
    (r"[Hh]ostname '[^']*' is not allowed", "UPSTREAM_ALLOW_PRIVATE_NETWORK"),
    (r"[Hh]ostname '[^']*' is not in the allowlist", "allowlist settings"),
    (r"[Hh]ostname '[^']*' resolves to private/internal IP", "DNS"),
    (r"must be a Cloudflare R2 hostname \(\*\.r2\.cloudflarestorage\.com\) or be listed in R2_ENDPOINT_HOST_ALLOWLIST",
     "R2_ENDPOINT_HOST_ALLOWLIST"),
    # A webhook needs WEBHOOK_SIGNING_SECRET of 32 bytes (core §5.3).
    (r"[Ww]ebhook signing secret must contain at least 32 bytes", "setting"),
    (r"WEBHOOK_SIGNING_SECRET must contain at least 32 bytes", "setting"),
    # A size's sides are in the document (multiples of 16 up to 3840); the rules across them (ratio,
    # total pixels) would take some 29,000 listed sizes, so they are in the field's description only.
    (r"^size aspect ratio must not exceed 3:1$", "across width and height"),
    (r"^size total pixels must be between 655360 and 8294400$", "across width and height"),
    # Overall Config: one item per name, and rules across settings on the resulting configuration
    # (core §6.2); a JSON Schema can say neither.
    (r"^Duplicate config name: ", "across items"),
    (r"^TRUSTED_PROXY_IPS: must list at least one proxy IP or CIDR when TRUST_PROXY_HEADERS=true", "across settings"),
    (r"^ACCESS_COOKIE_SECURE: must be true when ACCESS_KEY_COOKIE_NAME starts with __Host-", "across settings"),
]
PATTERNS = [re.compile(pattern) for pattern, _ in STATE_DEPENDENT_422]


def state_dependent(response) -> bool:
    if response.status_code != 422:
        return False
    try:
        detail = response.json().get("detail", "")
    except ValueError:
        return False
    parts = [part.split(" - ", 1)[-1] for part in str(detail).split("; ")]
    return all(any(pattern.search(part) for pattern in PATTERNS) for part in parts)


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    return not (isinstance(failure, RejectedPositiveData) and state_dependent(response))
