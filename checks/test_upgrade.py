"""The pre-upgrade gate: Glance's own readiness tools pass on every controller, for the running
release and, with --upgrade-to, for the target release.

Run the whole suite as the gate (`pytest checks/ ...`); `-m gate` runs only these. The answers
come from glance_hc/probe/gate_check.py, run in glance's interpreter as the worker user with the
running config, once per group of identical controllers (glance_hc.gate reads its report).

PYTEST_DONT_REWRITE: a failed claim shows its own message, not pytest's introspection.
"""
from __future__ import annotations

import pytest

from glance_hc import gate

pytestmark = [pytest.mark.upgrade]


# checks that judge a release's view of the config: a case per release (the target with --upgrade-to)
PER_RELEASE = ("release",)


def pytest_generate_tests(metafunc):
    if "release" in metafunc.fixturenames:
        releases = ["running"] + (["target"] if gate.upgrade_to(metafunc.config) else [])
        metafunc.parametrize("release", releases)


def _shared(host, evidence):
    if host.gate_shared_with:
        evidence.add("where it ran", f"on {host.gate_shared_with}, whose glance tools, release, policy files and "
                                     f"{host.deployment.config_path} (database included) are the same as here: "
                                     f"the same answer for both (--gate-every-host runs it on each)")


def _release(host, gate_results, release, evidence) -> gate.Release:
    """The report of one release on this host, or a skip saying exactly why there is none."""
    _shared(host, evidence)
    if gate.KEY not in gate_results:
        pytest.skip(f"the gate program did not run on {host.name}")
    rc, text = gate_results[gate.KEY]
    report = gate.parse(rc, text)
    rel = report.of(release)
    if rel is None:
        pytest.skip(f"no report of the target release from {host.name}")
    evidence.add(f"gate program ({rel.label})", f"python {rel.python or '?'}: {rel.glance}; files: "
                                                f"{', '.join(rel.files) or '?'}")
    if rel.error:
        pytest.skip(f"the gate program could not run for the {rel.label} release on {host.name}: {rel.error}")
    return rel


@pytest.mark.host
@pytest.mark.gate
def test_database_schema_is_current(configured_host, gate_results, evidence):
    _shared(configured_host, evidence)
    if gate.DB_CHECK not in gate_results:
        pytest.skip(f"{gate.DB_CHECK} did not run on {configured_host.name}")
    rc, output = gate_results[gate.DB_CHECK]
    if rc == 127:
        pytest.skip(f"glance-manage is not installed on {configured_host.name} (not on PATH): cannot check")
    step, words = gate.db_words(rc, output)
    evidence.add(gate.DB_CHECK, f"exit {rc}: {words}\n{output}", command=gate.DB_CHECK)
    if step:
        pytest.fail(f"the Glance database on {configured_host.name} is behind the code: {words}")
    if rc != 0:
        pytest.skip(f"{words} on {configured_host.name}")


@pytest.mark.host
@pytest.mark.gate
def test_glance_upgrade_checks_report_no_failure(configured_host, gate_results, release, evidence):
    """The checks `glance-status upgrade check` ships, run with glance_store's multistore options
    registered (glance-status itself dies on enabled_backends there)."""
    rel = _release(configured_host, gate_results, release, evidence)
    if rel.checks_error:
        pytest.skip(f"Glance's upgrade checks could not run for the {rel.label} release on "
                    f"{configured_host.name}: {rel.checks_error}")
    evidence.add(f"Glance's upgrade checks ({rel.label})", gate.check_lines(rel) or ["the release ships none"],
                 command="glance-status upgrade check (its checks, in glance's interpreter)")
    failed = gate.failing_checks(rel)
    if failed:
        pytest.fail(f"Glance's upgrade checks ({rel.label}, {rel.glance}) on {configured_host.name} fail: "
                    + "; ".join(f"{c['name']}: {c.get('details') or 'failure'}" for c in failed))
    crashed = gate.crashed_checks(rel)
    if crashed:
        pytest.skip(f"Glance's upgrade check {', '.join(c['name'] for c in crashed)} crashed on "
                    f"{configured_host.name} ({rel.label}): " + "; ".join(gate.check_lines(rel)))


def _validation(host, gate_results, release, evidence) -> gate.Release:
    rel = _release(host, gate_results, release, evidence)
    if rel.validation_error:
        pytest.skip(f"oslo-config-validator could not run for the {rel.label} release on {host.name}: "
                    f"{rel.validation_error}")
    evidence.add(f"oslo-config-validator ({rel.label})",
                 [f"namespaces: {', '.join(rel.namespaces)}"]
                 + ([f"not installed: {', '.join(rel.missing_namespaces)}"] if rel.missing_namespaces else [])
                 + [f.line() for f in rel.findings] or ["no findings"],
                 command="oslo-config-validator --namespace ... --input-file " + " ".join(rel.files))
    return rel


@pytest.mark.host
@pytest.mark.gate
def test_config_options_are_known_to_the_release(configured_host, gate_results, release, evidence):
    """Every option in glance-api.conf is one the release reads: a typo, an option the release
    removed or one in the wrong group is silently ignored by Glance."""
    rel = _validation(configured_host, gate_results, release, evidence)
    bad = gate.findings(rel, gate.UNKNOWN_KINDS)
    if bad:
        pytest.fail(f"{len(bad)} option(s) in the config of {configured_host.name} that {rel.glance} "
                    f"({rel.label}) does not read: " + "; ".join(f.line() for f in bad))


@pytest.mark.host
@pytest.mark.gate
def test_config_uses_no_deprecated_option(configured_host, gate_results, release, evidence):
    """Deprecated names and options deprecated for removal: they go away in a coming release."""
    rel = _validation(configured_host, gate_results, release, evidence)
    old = gate.findings(rel, gate.DEPRECATED_KINDS)
    if old:
        pytest.fail(f"{len(old)} deprecated option(s) in the config of {configured_host.name} ({rel.glance}, "
                    f"{rel.label}): " + "; ".join(
                        f.line() + (f" ({f.extra['reason']})" if f.extra.get("reason") else "") for f in old))


@pytest.mark.host
@pytest.mark.gate
def test_policy_overrides_no_deprecated_rule(configured_host, gate_results, release, evidence):
    """The policy file overrides no rule the release deprecates or no longer has (its format,
    JSON or YAML, is Glance's own upgrade check)."""
    rel = _release(configured_host, gate_results, release, evidence)
    pol = rel.policy
    if pol.get("error"):
        pytest.skip(f"cannot read the policy file on {configured_host.name} ({rel.label}): {gate._err(pol)}")
    if not pol.get("path"):
        evidence.add("policy file", f"{pol.get('policy_file') or 'policy.yaml'} not found in the config dirs: "
                                    f"Glance uses its in-code defaults")
        return
    evidence.add("policy file", f"{pol['path']} ({pol.get('format')}), [oslo_policy] enforce_new_defaults = "
                                f"{pol.get('enforce_new_defaults')}")
    lines = gate.policy_findings(rel)
    if lines:
        pytest.fail(f"{len(lines)} rule(s) in the policy file of {configured_host.name} that {rel.glance} "
                    f"({rel.label}) deprecates or does not have: " + "; ".join(lines))
