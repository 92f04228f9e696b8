"""pytest's end-of-run garbage collection is one pass in the suite's runs (glance_hc.fixtures.gc_passes)."""
from _pytest.unraisableexception import gc_collect_iterations_key

from glance_hc.fixtures import gc_passes


def test_the_suite_asks_pytest_for_one_gc_pass(pytestconfig):
    assert pytestconfig.stash[gc_collect_iterations_key] == gc_passes.GC_PASSES == 1
