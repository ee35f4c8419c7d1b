"""Drives a real panel server with a Python client generated from `openapi/openapi.json` by
openapi-python-client (scripts/api-client makes it): unlock, save a preset pointing at a mock
upstream, generate, read the job, list the gallery, favorite, edit with an upload, delete. Any step
the document describes wrongly (a field, a status, a body) fails here.

    python3 tests/api/client_flow.py --bin target/debug/gpt-image-panel --client-dir DIR
"""

import argparse
import io
import os
import sys
import tempfile
import time

from mock_upstream import MockUpstream, png
from panel_server import ACCESS_KEY, free_port, start, stop

KEY_VARIABLE = "CLIENT_FLOW_UPSTREAM_KEY"
UPSTREAM_KEY = "sk-client-flow-upstream"
PROMPT = "a lighthouse at dawn, seen from the sea"


def check(condition: bool, what: str, detail: object = "") -> None:
    if not condition:
        sys.exit(f"client flow: {what} {detail}")
    print(f"  ok  {what}")


def wait_for_job(get_job, client, job_id: str):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reply = get_job.sync_detailed(job_id, client=client)
        check_status(reply, 200, f"GET /api/generate/{job_id}", quiet=True)
        if reply.parsed.status not in ("queued", "running"):
            return reply.parsed
        time.sleep(0.2)
    sys.exit(f"client flow: job {job_id} did not finish in 60 s")


def check_status(reply, status: int, what: str, quiet: bool = False) -> None:
    if reply.status_code != status:
        sys.exit(f"client flow: {what} answered {reply.status_code}, not {status}: {reply.content[:500]!r}")
    if not quiet:
        print(f"  ok  {what} → {status}")


def flow(base: str, upstream: MockUpstream) -> None:
    from panel_client import Client
    from panel_client.api.access import unlock
    from panel_client.api.gallery import delete_gallery_entry, get_gallery_entry, list_gallery, set_gallery_favorite
    from panel_client.api.jobs import edit, generate, get_job
    from panel_client.api.settings import create_preset
    from panel_client.models import AccessRequest, EditUploadForm, FavoriteBody, GenerateBody, PresetCreate
    from panel_client.types import File

    anonymous = Client(base_url=base, headers={"origin": base})
    refused = list_gallery.sync_detailed(client=anonymous)
    check_status(refused, 401, "GET /api/gallery before unlocking")

    reply = unlock.sync_detailed(client=anonymous, body=AccessRequest(access_key=ACCESS_KEY))
    check_status(reply, 200, "POST /api/access")
    name, value = reply.headers["set-cookie"].split(";")[0].split("=", 1)
    client = Client(base_url=base, cookies={name: value}, headers={"origin": base})

    preset = PresetCreate(name="Mock upstream", api_url=f"{upstream.url}/v1", api_key=f"${{{KEY_VARIABLE}}}")
    reply = create_preset.sync_detailed(client=client, body=preset)
    check_status(reply, 200, "POST /api/settings/presets")
    settings = reply.parsed
    active = next(p for p in settings.presets if p.id == settings.active_preset_id)
    check(active.name == "Mock upstream", "the new preset is the active one", active.name)
    check(settings.has_api_key and settings.api_key_source == "env", "its key is read from the environment",
          (settings.has_api_key, settings.api_key_source))

    reply = generate.sync_detailed(client=client, body=GenerateBody(prompt=PROMPT, size="1024x1024"))
    check_status(reply, 202, "POST /api/generate")
    job = wait_for_job(get_job, client, reply.parsed.job_id)
    check(job.status == "success", "the job succeeded", (job.status, job.error))
    check(job.prompt == PROMPT and isinstance(job.image_id, str), "the job names its prompt and image")
    sent = upstream.requests_to("/v1/images/generations")
    check(len(sent) == 1 and sent[0]["authorization"] == f"Bearer {UPSTREAM_KEY}",
          "the upstream got one generation with the preset's key", [r["authorization"] for r in sent])

    reply = list_gallery.sync_detailed(client=client)
    check_status(reply, 200, "GET /api/gallery")
    listed = {entry.id: entry for entry in reply.parsed.images}
    check(job.image_id in listed and listed[job.image_id].prompt == PROMPT, "the gallery lists the image")
    check(listed[job.image_id].favorite is False, "not a favorite yet")

    reply = set_gallery_favorite.sync_detailed(job.image_id, client=client, body=FavoriteBody(favorite=True))
    check_status(reply, 200, f"PATCH /api/gallery/{job.image_id}/favorite")
    reply = list_gallery.sync_detailed(client=client, favorite=True)
    check([entry.id for entry in reply.parsed.images] == [job.image_id], "the favorites filter finds it")

    source = File(payload=io.BytesIO(png(64, 48, (200, 40, 40))), file_name="source.png", mime_type="image/png")
    reply = edit.sync_detailed(client=client, body=EditUploadForm(prompt="make it night", image=[source]))
    check_status(reply, 202, "POST /api/edits with one uploaded source")
    edited = wait_for_job(get_job, client, reply.parsed.job_id)
    check(edited.status == "success" and edited.operation == "edit", "the edit succeeded", (edited.status, edited.error))
    sent = upstream.requests_to("/v1/images/edits")
    check(len(sent) == 1 and sent[0]["content_type"].startswith("multipart/form-data")
          and b'name="image"; filename="source.png"' in sent[0]["body"],
          "the upstream got the edit as multipart, with the uploaded source")

    reply = delete_gallery_entry.sync_detailed(job.image_id, client=client)
    check_status(reply, 200, f"DELETE /api/gallery/{job.image_id}")
    reply = get_gallery_entry.sync_detailed(job.image_id, client=client)
    check_status(reply, 404, f"GET /api/gallery/{job.image_id} after deleting")
    reply = list_gallery.sync_detailed(client=client)
    remaining = [entry.id for entry in reply.parsed.images]
    check(remaining == [edited.image_id], "only the edit is left in the gallery", remaining)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--client-dir", required=True, help="the directory holding the generated panel_client")
    args = parser.parse_args()
    sys.path.insert(0, os.path.abspath(args.client_dir))
    upstream = MockUpstream(png(1024, 1024, (30, 90, 160)))
    with tempfile.TemporaryDirectory(prefix="panel-client-") as data:
        port = free_port()
        env = {KEY_VARIABLE: UPSTREAM_KEY, "UPSTREAM_ALLOW_PRIVATE_NETWORK": "true"}
        server = start(args.bin, data, port, env)
        try:
            flow(f"http://127.0.0.1:{port}", upstream)
        finally:
            stop(server)
            upstream.close()
    print("client flow: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
