"""Capture a lab controller's upload-path configs (haproxy.cfg, uWSGI ini, glance-api.conf), redacted,
as parser test data for tests/unit/test_haproxy.py, test_uwsgi.py and test_config.py.

    flock /tmp/hc/lab.lock .venv/bin/python -m tests.tools.capture_upload_path ssh://controller1 \
        /opt/glance-hc-lab/state/ssh_config
"""
import sys
from pathlib import Path

import testinfra

from glance_hc.redact import redact

DATA = Path(__file__).resolve().parent.parent / "data"
FILES = {  # path on the host -> where it lands here
    "/etc/haproxy/haproxy.cfg": DATA / "haproxy" / "lab-controller1.cfg",
    "/etc/glance/glance-api-uwsgi.ini": DATA / "uwsgi" / "lab-glance-api-uwsgi.ini",
    "/etc/glance/glance-api.conf": DATA / "config" / "lab-controller1.conf",
}


def main(url: str, ssh_config: str | None = None) -> None:
    host = testinfra.get_host(url, ssh_config=ssh_config) if ssh_config else testinfra.get_host(url)
    for path, out in FILES.items():
        result = host.run("sudo -n cat -- %s", path)  # testinfra quotes the argument
        if result.rc != 0:
            raise SystemExit(f"cannot read {path} on {url}: {result.stderr.strip()}")
        out.write_text(redact(result.stdout))
        print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
