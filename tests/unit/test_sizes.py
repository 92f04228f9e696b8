"""Sizes: binary multiples everywhere, glance's quota grammar where it applies."""
import pytest

from glance_hc.sizes import SizeError, human, parse_glance_quota, parse_size, shorten

KI, MI, GI, TI = 1024, 1024**2, 1024**3, 1024**4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1024", 1024),
        (1024, 1024),
        ("0", 0),
        ("1024B", 1024),
        ("10K", 10 * KI),
        ("10KB", 10 * KI),
        ("10KiB", 10 * KI),
        ("500MB", 500 * MI),
        ("500M", 500 * MI),
        ("10G", 10 * GI),
        ("10GB", 10 * GI),
        ("10GiB", 10 * GI),
        ("10 GiB", 10 * GI),
        ("10g", 10 * GI),
        ("1TB", TI),
        ("1.5T", int(1.5 * TI)),
        ("1.5 GiB", int(1.5 * GI)),
        (" 2M ", 2 * MI),
    ],
)
def test_parse_size_uses_binary_multiples(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "ten", "10X", "-1", "10 G B", "1.5", "10iB", "GB", True])
def test_parse_size_rejects_what_is_not_a_size(text):
    with pytest.raises(SizeError):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("1048576", 1048576),
        ("100B", 100),
        ("10KB", 10 * KI),
        ("500MB", 500 * MI),
        ("10GB", 10 * GI),  # glance multiplies by units.Gi: GB is binary
        ("1TB", TI),
    ],
)
def test_parse_glance_quota_matches_glance(text, expected):
    assert parse_glance_quota(text) == expected


@pytest.mark.parametrize("text", ["10G", "10GiB", "10gb", "10 GB", "-5", "1.5GB", "10PB", ""])
def test_parse_glance_quota_rejects_what_glance_rejects(text):
    with pytest.raises(SizeError, match=r"^Invalid value for option user_storage_quota: "):
        parse_glance_quota(text)


@pytest.mark.parametrize(
    ("num_bytes", "expected"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (int(1.5 * GI), "1.5 GiB"),
        (10 * GI, "10 GiB"),
        (TI, "1 TiB"),
        (1024 * KI - 1, "1 MiB"),  # rounds up into the next unit, never "1024 KiB"
        (-2 * MI, "-2 MiB"),
    ],
)
def test_human(num_bytes, expected):
    assert human(num_bytes) == expected


@pytest.mark.parametrize("num_bytes", [1, 1000, 10 * GI, 3 * TI])
def test_human_round_trips_through_parse_size(num_bytes):
    assert parse_size(human(num_bytes).replace(" ", "")) == num_bytes


def test_a_5000_digit_quota_is_a_size_error_not_a_crash():
    with pytest.raises(SizeError, match=r"5000 digits: glance's int\(\) of it raises ValueError"):
        parse_glance_quota("9" * 5000 + "GB")


@pytest.mark.parametrize("text", ["9" * 5000, "9" * 400, "1" * 31 + "G"])
def test_parse_size_of_an_absurd_number_is_a_size_error(text):
    with pytest.raises(SizeError, match="absurd size"):
        parse_size(text)


@pytest.mark.parametrize("digits", [40, 5000])
def test_human_of_an_absurd_number_does_not_overflow(digits):
    assert human(10**digits).endswith("B (an absurd size)")


def test_shorten_keeps_short_values():
    assert shorten("1048576") == "1048576"
    assert shorten("x" * 100) == "x" * 20 + "... (100 characters)"
