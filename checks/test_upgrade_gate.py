"""The pre-upgrade gate: Glance's own readiness commands pass on every controller.

Run the whole suite as the gate (`pytest checks/ ...`); `-m gate` runs only these.

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
import pytest

pytestmark = [pytest.mark.host, pytest.mark.gate, pytest.mark.upgrade]

# glance/cmd/manage.py DbCommands.check
DB_CHECK_NEXT_STEP = {3: "glance-manage db expand", 4: "glance-manage db migrate", 5: "glance-manage db contract"}
# oslo.upgradecheck: 0 success, 1 warning, 2 failure, 255 the tool itself failed
UPGRADE_CHECK = {0: "success", 1: "warning", 2: "failure", 255: "error"}


def _result(gate_results, command, host, evidence):
    if host.gate_shared_with:
        evidence.add("where it ran", f"on {host.gate_shared_with}, whose glance tools, release, policy files and "
                                     f"{host.deployment.config_path} (database included) are the same as here: "
                                     f"the same answer for both (--gate-every-host runs it on each)")
    if command not in gate_results:
        pytest.skip(f"{command} did not run on {host.name}")
    rc, output = gate_results[command]
    if rc == 127:
        pytest.skip(f"{command.split()[0]} is not installed on {host.name} (not on PATH): cannot check")
    return rc, output


def test_database_schema_is_current(configured_host, gate_results, evidence):
    rc, output = _result(gate_results, "glance-manage db check", configured_host, evidence)
    evidence.add("glance-manage db check", f"exit {rc}\n{output}", command="glance-manage db check")
    if rc in DB_CHECK_NEXT_STEP:
        pytest.fail(f"the Glance database on {configured_host.name} is behind the code: next step "
                    f"`{DB_CHECK_NEXT_STEP[rc]}` ({output.splitlines()[-1] if output else 'no output'})")
    if rc != 0:
        pytest.skip(f"glance-manage db check could not run on {configured_host.name} (exit {rc}): "
                    f"{output.splitlines()[-1] if output else 'no output'}")


def test_upgrade_check_reports_no_failure(configured_host, gate_results, evidence):
    rc, output = _result(gate_results, "glance-status upgrade check", configured_host, evidence)
    evidence.add("glance-status upgrade check", f"exit {rc} ({UPGRADE_CHECK.get(rc, 'unknown')})\n{output}",
                 command="glance-status upgrade check")
    if rc == 2:
        pytest.fail(f"glance-status upgrade check on {configured_host.name} reports a failure: "
                    f"see the evidence for the failing item")
    if rc not in (0, 1):
        last = next((line for line in reversed(output.splitlines()) if line.strip()), "no output")
        pytest.skip(f"glance-status upgrade check itself failed on {configured_host.name} (exit {rc}): {last}")
