"""glance-api is running on each host and the Image API answers (runbook: diagnostic step 2), and does
the imports it accepts.

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import time
from datetime import UTC, datetime

import pytest

from glance_hc import facts as facts_mod
from glance_hc import logscan, redact
from glance_hc.canary import tasks as import_tasks
from glance_hc.classify import cause_of_message
from glance_hc.errors import one_line
from glance_hc.fixtures.cloud import list_tasks_or_skip
from glance_hc.fixtures.hosts import registry
from glance_hc.report import ROOT_CAUSE_OVERRIDE

pytestmark = [pytest.mark.availability]


@pytest.mark.host
def test_host_is_reachable_for_checks(glance_host, evidence):
    """Every other host check depends on this look; an unreachable host fails here, once."""
    evidence.add("how the host was reached", glance_host.spec.url)
    assert glance_host.error is None, f"cannot look at {glance_host.name}: {glance_host.error}"
    evidence.add("probe", f"{glance_host.round_trips} round trips, {glance_host.seconds:.2f}s, "
                          f"as {glance_host.user} (privilege: {glance_host.privilege})")


@pytest.mark.host
def test_glance_api_is_running(reachable_host, evidence):
    dep = reachable_host.deployment
    evidence.add("deployment", dep.detail)
    if dep.style == "none":
        pytest.fail(f"no glance-api found on {reachable_host.name}: {dep.detail}")
    assert dep.running, f"glance-api on {reachable_host.name} is not running: {dep.detail}"
    if dep.style in ("uwsgi", "process", "systemd") and dep.master_pid:
        assert dep.worker_pids, (f"glance-api master pid {dep.master_pid} on {reachable_host.name} "
                                 f"has no worker processes")


@pytest.mark.host
def test_no_database_or_identity_errors_in_logs(quiet_logs):
    """glance-api's database errors, and Keystone's where it runs beside it: while the database
    server is down, no request gets past the token, and only Keystone's log names the server."""
    quiet_logs("availability", "database or identity errors")


@pytest.mark.api
def test_identity_accepts_the_cloud_credentials(cloud_state, request, evidence):
    request.node.user_properties.append(("hc_target", "api"))
    if not cloud_state.name:
        pytest.skip(cloud_state.error)
    assert cloud_state.error is None, cloud_state.error
    evidence.metric("token_issue_seconds", round(cloud_state.auth_seconds, 3), "s")


@pytest.mark.api
def test_image_api_answers_version_discovery(cloud, thresholds, evidence):
    endpoint = cloud.image.get_endpoint()
    root = endpoint.rstrip("/").rsplit("/v2", 1)[0] + "/"
    started = time.monotonic()
    resp = cloud.session.get(root, raise_exc=False, authenticated=False, timeout=thresholds.api_timeout)
    elapsed = time.monotonic() - started
    evidence.add("version discovery", f"GET {root} -> HTTP {resp.status_code} in {elapsed:.2f}s")
    assert resp.status_code in (200, 300), f"version discovery at {root} answered HTTP {resp.status_code}"
    current = [v.get("id") for v in resp.json().get("versions", []) if v.get("status") == "CURRENT"]
    evidence.add("current versions", ", ".join(current) or "none")
    assert current, f"version discovery at {root} lists no CURRENT version"


IMAGE_KEYS = ("id", "status", "visibility", "created_at", "self", "file")
IMAGE_STATUSES = ("queued", "saving", "uploading", "importing", "active", "deactivated", "killed",
                  "deleted", "pending_delete")


def _what_the_logs_say(config, request_id: str | None, timeout: int, evidence) -> list[str]:
    """The lines of the failed request in each --host host's glance-api log that name why
    ("... cannot use its database: Access denied for user ..."): the request's own lines, found by
    its id (the runbook's step 2), and the host's recent lines of this cause."""
    reg = registry(config)
    found = []
    for spec in reg.fleet:
        host = reg.facts(spec.name)
        if host.error:
            continue
        lines = []
        if request_id:
            try:
                lines = facts_mod.request_lines(host, reg.testinfra_host(spec.name), request_id, timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - a host that cannot be searched is named, not fatal
                evidence.add(f"{host.name}: log not searched for the request", one_line(exc))
        said = [line for line in lines if "availability" in logscan.root_causes_of(line)]
        said = said or [f"{line.source}: {line.text}" for line in host.recent_lines("availability")]
        if said:
            found.append(f"{host.name} {redact.clip(said[-1].strip(), 600)}")
    return found


@pytest.mark.api
def test_image_api_lists_images(api_health, thresholds, evidence, request):
    """One bounded request (the run's API probe, GET /v2/images?limit=1): a 200 with an image list
    whose first entry looks like an image. Every other API check skips to here when it fails."""
    answer = api_health.answer
    evidence.metric("image_list_seconds", round(answer.seconds, 3), "s")
    evidence.add("image list", answer.describe(), command="GET /v2/images?limit=1")
    body = (answer.body or answer.error or "")[:2000]
    if not answer.ok:
        said = _what_the_logs_say(request.config, answer.request_id, thresholds.command_timeout, evidence)
        if said:
            evidence.add("what glance-api's logs say", said)
        assert answer.ok, (f"the Image API could not list images: {answer.describe()}; body: {body or '(empty)'}"
                           + (f"; glance-api's log on {said[0]}" if said else ""))
    images = (answer.json or {}).get("images") if isinstance(answer.json, dict) else None
    assert isinstance(images, list), (f"the Image API answered {answer.status} to an image list without "
                                      f"an `images` list; body: {body or '(empty)'}")
    if not images:
        evidence.add("first image", "the list is empty (no image visible to this project)")
        return
    first = images[0]
    missing = [key for key in IMAGE_KEYS if not isinstance(first, dict) or key not in first]
    evidence.add("first image", ", ".join(f"{k}={first.get(k)}" for k in IMAGE_KEYS if isinstance(first, dict)))
    assert not missing, (f"the first entry of the image list is not shaped like an image (missing "
                         f"{', '.join(missing)}); body: {body}")
    assert first["status"] in IMAGE_STATUSES, (f"the first image {first['id']} has status "
                                               f"{first['status']!r}, not one Glance knows; body: {body}")


@pytest.mark.api
def test_no_import_task_failed_within_window(image_api, thresholds, evidence, request):
    """No api_image_import task failed within the log window (--since) on an image that still exists.

    Here and not in one cause's module: a failed import can be any cause (a full or unconfigured
    store, a quota, a dead worker's lock broken: "Expired lock preempted", a source URL that fails),
    as a user's image is in test_forensics.py. What every failure shares is that the Image API did not
    do the import it accepted with 202: this module's claim. When the tasks' messages name one cause
    (glance_hc.classify.cause_of_message), the report files the check under it. A failed task whose
    image is gone is not counted: Tempest's import tests, run before the suite in CI, leave those."""
    now = datetime.now(UTC)
    since = now - thresholds.log_window
    listing = list_tasks_or_skip(image_api, "failure", thresholds, since=since)
    failed = import_tasks.imports(listing.tasks)
    looked = [import_tasks.detail(image_api, task, timeout=thresholds.api_timeout,
                                  age=import_tasks.age_of(task, now, "updated_at"))
              for task in failed[:import_tasks.MAX_DETAILED]]
    evidence.add("failed import tasks", f"{len(listing.tasks)} task(s) failed since {since:%Y-%m-%dT%H:%M:%SZ} "
                 f"({thresholds.log_window}; {listing.pages} page(s)"
                 f"{', more not read: at most ' + str(import_tasks.MAX_PAGES) if listing.truncated else ''}), "
                 f"{len(failed)} of them api_image_import"
                 + (f", the newest {import_tasks.MAX_DETAILED} read" if len(failed) > import_tasks.MAX_DETAILED else ""),
                 command=listing.command)
    live = [d for d in looked if d.image is not None]
    gone = [d for d in looked if d.image_gone]
    unread = [d for d in looked if d.image is None and not d.image_gone]  # e.g. the task expired meanwhile
    if gone:
        evidence.add("failed tasks whose image is deleted (not counted)", [d.describe() for d in gone])
    if unread:
        evidence.add("failed tasks not judged (task or image unreadable)", [f"{d.describe()} {d.message}" for d in unread])
    evidence.metric("failed_import_tasks", len(live), "tasks")
    if not live:
        return
    lines, causes = [], []
    for d in live:
        named = cause_of_message(d.message)
        causes.append(named[0] if named else None)
        lines.append(f"{d.describe()} message={d.message!r}"
                     + (f" -> root cause {named[0]} ({named[1]})" if named else " -> no cause rule matches"))
    evidence.add("failed import tasks on existing images", lines, command="GET /v2/tasks/ID, GET /v2/images/ID")
    named = {c for c in causes if c}
    if len(named) == 1 and None not in causes:
        request.node.user_properties.append((ROOT_CAUSE_OVERRIDE, named.pop()))
    pytest.fail(f"{len(live)} import task(s) failed within {thresholds.log_window} on images that still exist; "
                f"newest: {lines[0]}", pytrace=False)
