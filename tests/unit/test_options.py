"""Options honest: testinfra's ssh options are the suite's own and honoured, its other options and
the host specs the probe cannot travel over stop the run with one line (exit 4, no traceback)."""
from __future__ import annotations

import pytest

from glance_hc.fixtures import hosts as hosts_mod
from glance_hc.hosts import HostSpecError, parse_host
from glance_hc.probe import transport

CONFTEST = 'pytest_plugins = ["glance_hc.plugin"]\n'

# a check that prints what the registry hands testinfra for its host (no connection is made:
# testinfra's ssh backend connects on the first command)
PROBE_KWARGS = """
from glance_hc.fixtures.hosts import registry

def test_kwargs(request):
    host = registry(request.config).testinfra_host("controller1")
    print("EXTRA", host.backend.ssh_extra_args)
    print("CONFIG", host.backend.ssh_config)
    print("IDENTITY", host.backend.ssh_identity_file)
"""


def _run(pytester, *args):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    return pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider", *args)


@pytest.mark.parametrize("flag", ["--hosts=controller1", "--connection=paramiko", "--sudo", "--sudo-user=glance",
                                  "--ansible-inventory=inv.yml", "--force-ansible", "--nagios"])
def test_testinfra_option_stops_the_run_with_one_line_naming_it(pytester, flag):
    result = _run(pytester, flag)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    name = flag.split("=")[0]
    assert len(errors) == 1 and f"{name} is pytest-testinfra's option, not this suite's" in errors[0], result.errlines
    assert "Traceback" not in "\n".join(result.errlines + result.outlines)


def test_testinfra_plugin_is_left_out_and_the_ssh_options_are_the_suites(pytester):
    pytester.makeconftest(CONFTEST)
    result = pytester.runpytest_inprocess("--help")
    text = result.stdout.str()
    assert result.ret == 0
    assert "testinfra:" not in text  # testinfra's option group is gone
    assert "--ssh-config=FILE" in text and "--ssh-extra-args=ARGS" in text
    assert "pytest-testinfra's option, refused here" in text


def test_ssh_options_reach_the_connection_the_suite_own_options_first(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_kwargs=PROBE_KWARGS)
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-s", "--host=controller1", "--health-json=",
                                          "--ssh-config=/nonexistent/ssh_config", "--ssh-identity-file=/nonexistent/key",
                                          "--ssh-extra-args=-o ProxyJump=bastion", "-k", "test_kwargs")
    out = result.stdout.str()
    assert f"EXTRA {hosts_mod.SSH_OPTIONS} -o ProxyJump=bastion" in out, out
    assert "CONFIG /nonexistent/ssh_config" in out and "IDENTITY /nonexistent/key" in out


@pytest.mark.parametrize("scheme", sorted(transport.REFUSED_SCHEMES))
def test_host_spec_the_probe_cannot_travel_over_is_refused_with_why(scheme):
    with pytest.raises(HostSpecError) as err:
        parse_host(f"{scheme}://controller1")
    assert f"{scheme}:// cannot carry the probe: {transport.REFUSED_SCHEMES[scheme]}" in str(err.value)


def test_unknown_scheme_names_the_served_ones():
    with pytest.raises(HostSpecError, match="unknown scheme .*ssh, safe-ssh, docker, podman"):
        parse_host("telnet://controller1")


@pytest.mark.parametrize("value, name, url", [
    ("controller1", "controller1", "ssh://controller1"),
    ("ssh://hcops@controller1:2222", "controller1:2222", "ssh://hcops@controller1:2222"),
    ("podman://glance_api", "podman:glance_api", "podman://glance_api"),
    ("docker://glance_api", "docker:glance_api", "docker://glance_api"),
    ("local://", "local", "local://"),
    ("kubectl://glance-api-0?namespace=openstack", "kubectl:glance-api-0", "kubectl://glance-api-0?namespace=openstack"),
])
def test_host_spec_the_probe_travels_over_is_taken_as_given(value, name, url):
    spec = parse_host(value)
    assert (spec.name, spec.url) == (name, url)


def test_refused_host_spec_stops_the_run_with_one_line(pytester):
    result = _run(pytester, "--host=winrm://controller1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and "winrm:// cannot carry the probe" in errors[0], result.errlines


@pytest.mark.parametrize("flag", ["--canary-parallel", "--verify-parallel", "--host-parallel"])
@pytest.mark.parametrize("value", ["0", "-2", "four", "1.5"])
def test_a_parallel_count_that_is_not_a_whole_number_of_at_least_one_stops_the_run(pytester, flag, value):
    result = _run(pytester, f"{flag}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and flag.removeprefix("--").replace("-", "_") in errors[0], result.errlines
    assert "Traceback" not in "\n".join(result.errlines + result.outlines)


@pytest.mark.parametrize(("args", "expected"), [((), 16), (("--host-parallel=3",), 3)])
def test_host_parallel_caps_the_hosts_probed_at_once(pytester, args, expected):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_cap="from glance_hc.fixtures.options import host_parallel\n\n"
                                  "def test_cap(request):\n    print('CAP', host_parallel(request.config))\n")
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider", "-s", *args)
    assert f"CAP {expected}" in result.stdout.str()
