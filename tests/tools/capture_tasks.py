"""Capture the Image API's import tasks as the lab really answers them (issue 19), for the task checks' tests.

Run from the repo root, as root, with the lab up (swift on) and no fault injected, under the lab lock:
    flock /tmp/hc/lab.lock env OS_CLIENT_CONFIG_FILE=/opt/glance-hc-lab/state/clouds.yaml \
        HC_LAB_DIR=/opt/glance-hc-lab .venv/bin/python -m tests.tools.capture_tasks [processing] [failure]
Writes tests/data/tasks/:
  processing-image-importing.json  `lab fault inject import-cut-by-restart`: the listing of processing
                                   tasks, the task, its image (importing, the lock still naming the task)
  processing-image-deleted.json    the same after `lab fault revert import-cut-by-restart` (which deletes
                                   the image): the task is still processing, GET of its image is 404
  failure-staging-gone.json        a glance-direct import on controller1 after its staging file was removed
                                   (web-download cannot fail here: Glance refuses loopback URIs with 400 before
                                   any task): the failed task, its image; then the image deleted (404)
Each file is {"answers": [{"request", "status", "json"}, ...]}, in the order asked; ids are the lab's.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import labio
from glance_hc import canary
from tests.e2e import lab

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "tests" / "data" / "tasks"
DIRECT = lab.FAULTS_MODULE.GLANCE_DIRECT  # controller1's own glance-api: staging is per node
STAGING = "/var/lib/glance/staging"  # the lab's [os_glance_staging_store] filesystem_store_datadir


def ask(conn, path: str, **params) -> dict:
    answer, _ = canary.call(conn, "GET", path, params=params or None, timeout=30)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return {"request": f"GET /v2{path}" + (f"?{query}" if query else ""), "status": answer.status,
            "json": answer.json}


def write(name: str, answers: list[dict]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_text(json.dumps({"answers": answers}, indent=1, sort_keys=True) + "\n")
    print(f"{name}: {[(a['request'], a['status']) for a in answers]}")


def fault(action: str, name: str) -> None:
    subprocess.run([*lab.LABCTL, "fault", action, name], check=True, timeout=180, env=lab.lab_env(), cwd=ROOT)


def processing(conn) -> None:
    fault("inject", "import-cut-by-restart")
    try:
        listing = ask(conn, "/tasks", status="processing", sort_key="updated_at", limit=1000)
        task_id = listing["json"]["tasks"][0]["id"]
        task = ask(conn, f"/tasks/{task_id}")
        image_id = task["json"]["image_id"]
        write("processing-image-importing.json", [listing, task, ask(conn, f"/images/{image_id}")])
    finally:
        fault("revert", "import-cut-by-restart")
    write("processing-image-deleted.json", [ask(conn, "/tasks", status="processing", sort_key="updated_at",
                                                limit=1000), ask(conn, f"/tasks/{task_id}"),
                                            ask(conn, f"/images/{image_id}")])


def failure(conn) -> None:
    """Staged on controller1, its staging file removed (as a cleaner of /var/lib/glance/staging would),
    then imported with glance-direct on the same node: the task fails, the image goes back to queued."""
    image = conn.image.create_image(name="hc-capture-staging-gone", disk_format="raw", container_format="bare",
                                    allow_duplicates=True, wait=False, timeout=60)
    try:
        staged = conn.image.put(f"{DIRECT}/v2/images/{image.id}/stage", data=b"\0" * (1 << 20), raise_exc=False,
                                headers={"Content-Type": "application/octet-stream"})
        if staged.status_code != 204:
            raise RuntimeError(f"staging the image answered HTTP {staged.status_code}")
        labio.in_ns("controller1", ["rm", "-f", f"{STAGING}/{image.id}"], timeout=30)
        answer = conn.image.post(f"{DIRECT}/v2/images/{image.id}/import", raise_exc=False,
                                 json={"method": {"name": "glance-direct"}})
        if answer.status_code != 202:
            raise RuntimeError(f"the import answered HTTP {answer.status_code}: {answer.text[:300]}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            tasks = ask(conn, f"/images/{image.id}/tasks")
            if any(t.get("status") in ("success", "failure") for t in (tasks["json"] or {}).get("tasks", [])):
                break
            time.sleep(1)
        listing = ask(conn, "/tasks", status="failure", sort_key="updated_at", limit=1000)
        task_id = tasks["json"]["tasks"][0]["id"]
        answers = [listing, ask(conn, f"/tasks/{task_id}"), tasks, ask(conn, f"/images/{image.id}")]
    finally:
        canary.delete_and_confirm(conn, image.id, timeout=30)
    write("failure-staging-gone.json", [*answers, ask(conn, f"/images/{image.id}")])


def main() -> None:
    os.environ.setdefault("OS_CLIENT_CONFIG_FILE", str(lab.STATE / "clouds.yaml"))
    import openstack  # noqa: PLC0415 - the suite's venv has it

    conn = openstack.connect(cloud="hc-lab")
    wanted = sys.argv[1:] or ["processing", "failure"]
    if "processing" in wanted:
        processing(conn)
    if "failure" in wanted:
        failure(conn)


if __name__ == "__main__":
    main()
