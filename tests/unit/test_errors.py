"""One way to put an exception on one line (skip reasons, evidence, the report)."""
import pytest

from glance_hc.errors import one_line


@pytest.mark.parametrize("exc, expected", [
    (ConnectionError("HTTPSConnectionPool(host='k', port=5000): Max retries\n  caused by: refused  "),
     "ConnectionError: caused by: refused"),
    (TimeoutError(), "TimeoutError"),
    (ValueError("\n\n"), "ValueError"),
    (RuntimeError("ends with a colon:"), "RuntimeError: ends with a colon:"),
])
def test_type_and_last_line_of_the_message(exc, expected):
    assert one_line(exc) == expected
