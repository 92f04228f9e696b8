"""The report's pictures: well-formed SVG, and a store name is text, never markup."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from glance_hc import svg, trends

HOSTILE = '<script>alert(1)</script>'
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'
NS = "{http://www.w3.org/2000/svg}"


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # raises on anything that is not well-formed


def texts(root: ET.Element) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter() if node.tag in (f"{NS}text", f"{NS}title")]


def test_element_escapes_text_and_attributes():
    out = svg.El("text", {"data-series": HOSTILE_ATTR}, HOSTILE).render()
    assert "<script" not in out and "<img" not in out
    node = parse(f'<svg xmlns="http://www.w3.org/2000/svg">{out}</svg>')[0]
    assert node.text == HOSTILE and node.get("data-series") == HOSTILE_ATTR


@pytest.mark.parametrize("tag, attrs", [("script onload=x", {}), ("g", {"on load": "x"}), ("g", {'x="1"': "2"})])
def test_element_refuses_names_that_are_not_names(tag, attrs):
    with pytest.raises(ValueError):
        svg.El(tag, attrs)


def test_bar_chart_of_a_hostile_store_name_is_text():
    out = svg.bar_chart("usage", [(f"{HOSTILE} on controller1", [("used", 0.5)])], max_value=1.0,
                        value_text=lambda v: f"{v:.0%}", threshold=0.8, threshold_text="alert 80%")
    root = parse(out)
    assert "<script" not in out
    assert f"{HOSTILE} on controller1" in texts(root)
    assert not [n for n in root.iter() if n.tag.endswith("script") or any(a.startswith("on") for a in n.attrib)]


def test_bar_lengths_and_threshold_are_to_scale():
    out = svg.bar_chart("usage", [("a", [("used", 0.25)]), ("b", [("used", 1.0)])], max_value=1.0,
                        value_text=str, threshold=0.8, threshold_text="alert")
    root = parse(out)
    bars = [float(r.get("width")) for r in root.iter(f"{NS}rect") if r.get("class") == "hc-bar"]
    assert bars[1] == pytest.approx(4 * bars[0], rel=0.02)
    line = next(n for n in root.iter(f"{NS}line") if n.get("class") == "hc-threshold")
    x0 = float(next(n for n in root.iter(f"{NS}line") if n.get("class") is None).get("x1"))
    assert float(line.get("x1")) - x0 == pytest.approx(0.8 * bars[1], rel=0.02)


def test_line_chart_draws_each_series_and_dashes_the_trend():
    pts = [(1_700_000_000 + 86400 * d, 0.1 * d) for d in range(5)]
    out = svg.line_chart(HOSTILE, [("used", pts), ("trend", pts[::4])], y_max=1.0, value_text=str,
                         threshold=0.8, dashed=frozenset({"trend"}))
    root = parse(out)
    lines = {p.get("data-series"): p for p in root.iter(f"{NS}polyline")}
    assert set(lines) == {"used", "trend"}
    assert lines["trend"].get("stroke-dasharray") and not lines["used"].get("stroke-dasharray")
    assert len(lines["used"].get("points").split()) == 5
    assert HOSTILE in texts(root) and "<script" not in out


def test_line_chart_without_points_says_so():
    assert "no data" in texts(parse(svg.line_chart("x", [], y_max=1, value_text=str)))


def test_report_section_shows_a_hostile_store_as_text(monkeypatch):
    checks = [
        {"nodeid": "checks/test_store_full.py::test_file_store_usage_is_below_alert_level[c1-x]",
         "target": "controller1", "store": HOSTILE, "outcome": "passed",
         "metrics": [{"name": "store_used_ratio", "value": 0.4, "unit": "ratio",
                      "labels": {"store": HOSTILE, "path": HOSTILE_ATTR}}]},
        {"nodeid": "checks/test_canary.py::test_canary_upload_roundtrip[store-x]", "target": "api",
         "store": HOSTILE, "outcome": "passed",
         "metrics": [{"name": "canary_upload_mib_per_s", "value": 3.0, "unit": "MiB/s", "labels": {"store": HOSTILE}},
                     {"name": "canary_download_mib_per_s", "value": 30.0, "unit": "MiB/s",
                      "labels": {"store": HOSTILE}}]},
    ]
    charts = trends.current_pictures(checks, 0.8)
    assert len(charts) == 2
    for chart in charts:
        assert "<script" not in chart and "<img" not in chart
        root = parse(chart)
        assert any(HOSTILE in text for text in texts(root))
    assert trends.store_usage_rows(checks) == [(f"{HOSTILE} on controller1", [("used", 0.4)])]
    assert trends.throughput_rows(checks)[0][1] == [("upload", 3.0), ("download", 30.0)]
