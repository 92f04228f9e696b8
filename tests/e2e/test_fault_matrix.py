"""The fault matrix: each real fault is blamed on its own root cause and nothing else.

For every fault the lab can inject: inject it, run `pytest checks/` against the
lab, compare the failing root causes with the expected ones, revert, and see the
lab green again. The table lands in reports/fault-matrix.txt.
"""
from __future__ import annotations

import pytest

from tests.e2e import lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

MATRIX: list[tuple[str, str, str, str]] = []

# faults of the pre-upgrade gate: the one gate check each must fail, where, and what the run needs
GATE_FAULTS = {
    "option-misspelled": ("test_config_options_are_known_to_the_release", "[running-controller1]", ()),
    "policy-json": ("test_glance_upgrade_checks_report_no_failure", "[running-controller1]", ()),
    "target-removes-option": ("test_config_options_are_known_to_the_release", "[target-",
                              (f"--upgrade-to={lab.STATE}/hc-fake-target",)),
}
# faults in a store every controller shares: their host checks fail on each controller, no other host
ON_EVERY_CONTROLLER = ("store-filled-by-foreign-file",)
# faults the API checks report: words their failure must hold (the fault, and the host whose
# glance-api logged it, or the service that failed), one set of words per way the fault may show,
# and what their faulty run leaves out and why
SAYS = {"database-out-of-connections": (
            ("Too many connections", "glance-api's log on controller"),
            # Keystone shares the server: when it needs a connection of its own while the hog holds
            # every slot (a second request at once), the token fails first and the image checks skip
            ("Keystone failed to issue a token",)),
        # Keystone, on the same server, fails first; its own log names the server
        "database-down": (("Keystone failed to issue a token", "Can't connect to MySQL server"),)}
RUN_ARGS = {  # the upgrade gate's glance-manage db check waits out oslo.db's retries (10 x 10 s) per host
    "database-down": ("-m", "not upgrade")}


@pytest.fixture(scope="module", autouse=True)
def require_lab():
    if not lab.lab_is_up():
        pytest.fail("the lab is not running: `make lab-up` (make test starts it)")
    yield
    rows = [f"{'fault':29} {'expected':29} {'reported':29} verdict"]
    rows += [f"{f:29} {e:29} {r:29} {v}" for f, e, r, v in MATRIX]
    (lab.ROOT / "reports").mkdir(exist_ok=True)
    (lab.ROOT / "reports" / "fault-matrix.txt").write_text("\n".join(rows) + "\n")


def test_healthy_lab_is_all_green(tmp_path):
    run = lab.run_suite(tmp_path)
    failed = [(c["nodeid"], c["message"]) for c in run.checks("failed") + run.checks("error")]
    assert not failed, failed
    assert run.exit_code == 0, run.stdout[-2000:]
    assert run.health["verdict"] in ("healthy", "degraded")
    # what could not be looked at on the lab must be said, and only these may be skipped
    skipped = {c["nodeid"].split("::")[-1].split("[")[0] for c in run.checks("skipped")}
    assert skipped <= {"test_recent_images_match_their_recorded_hashes"}, skipped


@pytest.mark.parametrize("name", list(lab.FAULTS))
def test_fault_is_blamed_on_its_root_cause_only(name, tmp_path):
    fault = lab.FAULTS[name]
    expected = fault.expected(len(lab.controllers()))
    gate_check, where, extra = GATE_FAULTS.get(name, (None, None, ()))
    lab.fault("inject", name)
    try:
        run = lab.run_suite(tmp_path / "faulty", "--deep-verify=3", *extra, *RUN_ARGS.get(name, ()))
    finally:
        lab.fault("revert", name)
    reported = run.failing_root_causes
    verdict = "ok" if reported == expected else "WRONG"
    MATRIX.append((name, ",".join(sorted(expected)), ",".join(sorted(reported)) or "-", verdict))
    failed = [f"{c['nodeid']}: {c['message'][:200]}" for c in run.checks("failed") + run.checks("error")]
    assert reported == expected, "\n".join(failed) or run.stdout[-3000:]
    if gate_check:  # exactly its gate check fails, and only where the fault is
        ids = [c["nodeid"].split("::")[-1] for c in run.checks("failed") + run.checks("error")]
        assert ids and all(i.startswith(gate_check + where) for i in ids), "\n".join(failed)
    if name in ON_EVERY_CONTROLLER:
        hosts = {c["target"] for c in run.checks("failed") + run.checks("error")} - {"api", "all hosts"}
        assert hosts == set(lab.controllers()), "\n".join(failed)
    said = " ".join(c["message"] for c in run.checks("failed") + run.checks("error"))
    ways = SAYS.get(name)
    assert ways is None or any(all(words in said for words in way) for way in ways), "\n".join(failed)
    assert run.exit_code == 1, "a failing check must make pytest exit 1 (upgrade gates rely on it)"

    # green after the revert: the checks that failed pass again. The checks that passed under the
    # fault are held by the next fault's run (an extra failure there makes its row WRONG) and, after
    # the last fault, by test_lab_is_all_green_after_every_fault.
    failed_checks = sorted({c["nodeid"].split("::")[-1].split("[")[0] for c in run.checks("failed") + run.checks("error")})
    after = lab.run_suite(tmp_path / "reverted", "--deep-verify=3", "-k", " or ".join(failed_checks))
    still = [f"{c['nodeid']}: {c['message'][:200]}" for c in after.checks("failed") + after.checks("error")]
    assert not still, f"after reverting {name}: " + "\n".join(still)
    # ran, not deselected: a check that now skips says why (corrupt-image's revert leaves no active
    # image to verify, which the healthy run allows too)
    assert after.health["checks"], f"after reverting {name}: none of {failed_checks} ran"
    assert lab.canary_images() == [], "a canary image was left behind"


def test_lab_is_all_green_after_every_fault(tmp_path):
    """The whole suite once more after the last revert: no fault left anything behind."""
    test_healthy_lab_is_all_green(tmp_path)
