"""Self-test plumbing: pytester, and the fault matrix printed at the end of a run."""
import sys

pytest_plugins = ["pytester"]


def pytest_terminal_summary(terminalreporter):
    matrix = sys.modules.get("tests.e2e.test_fault_matrix")
    if matrix is not None and matrix.MATRIX:
        terminalreporter.section("fault matrix")
        terminalreporter.write_line(f"{'fault':25} {'expected':29} {'reported':29} verdict")
        for fault, expected, reported, verdict in matrix.MATRIX:
            terminalreporter.write_line(f"{fault:25} {expected:29} {reported:29} {verdict}")
