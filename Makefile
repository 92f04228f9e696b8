# glance-hc: health checks for Glance image uploads, and the lab they are tested on.
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV ?= .venv
PY := $(VENV)/bin/python
HC_LAB_DIR ?= /opt/glance-hc-lab
# two glance-api controllers behind HAProxy, sharing their stores and database
HC_LAB_CONTROLLERS ?= 2
# the rbd store (a one-OSD Ceph, +15 s, +350 MiB) and the swift store (Swift all-in-one, +3 s,
# +300 MiB); HC_LAB_CEPH=0 HC_LAB_SWIFT=0 gives the quick lab with file stores only
HC_LAB_CEPH ?= 1
HC_LAB_SWIFT ?= 1
# the s3 store: Debian's radosgw on that Ceph (+9 s first start, +55 MiB); HC_LAB_S3=0 leaves it out
HC_LAB_S3 ?= 1
export HC_LAB_DIR HC_LAB_CONTROLLERS HC_LAB_CEPH HC_LAB_SWIFT HC_LAB_S3
LAB := $(PYTHON) -m lab
LAB_STATE := $(HC_LAB_DIR)/state
# How the suite reaches the lab, and thresholds sized for its small stores.
LAB_ARGS := --host=controller1 --host=controller2 --ssh-config=$(LAB_STATE)/ssh_config --os-cloud=hc-lab \
	--largest-image=64MiB --slowest-client-rate=10MiB --canary-size=4MiB
LAB_ENV := OS_CLIENT_CONFIG_FILE=$(LAB_STATE)/clouds.yaml HC_LAB_DIR=$(HC_LAB_DIR)

.PHONY: help deps venv lab-up lab-down lab-status lab-env lab-acceptance demo check test test-unit test-e2e lint bench clean

help:
	@echo "make demo       set up, start the lab, run the checks: reports/health.html"
	@echo "make test       the suite's own tests (unit + end to end against the lab)"
	@echo "make lab-up | lab-status | lab-down   the lab cloud (HC_LAB_CEPH=0 HC_LAB_SWIFT=0: quick lab)"
	@echo "make lab-acceptance   Tempest's image API tests against the running lab: reports/lab-acceptance.txt"
	@echo "make check ARGS='--host=... --os-cloud=...'   the checks against your own cloud"
	@echo "make lint       ruff (pyproject.toml) and shellcheck on the shell scripts"

# Debian packages the lab needs (the suite itself needs none of them): Ceph 16 for the rbd store,
# memcached for Swift (Swift itself comes from PyPI into its own venv at lab-up), MariaDB for Keystone's
# and Glance's databases.
APT_LOG := $(HC_LAB_DIR)/state/logs/apt.log
apt_install = mkdir -p $(dir $(APT_LOG)) && { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1); } \
	>> $(APT_LOG) 2>&1 || { tail -n 25 $(APT_LOG); echo "apt-get failed: see $(APT_LOG)"; exit 1; }

deps: venv
	@missing=""; for t in haproxy:haproxy sshd:openssh-server sudo:sudo podman:podman runc:runc debootstrap:debootstrap \
		ceph-mon:ceph-mon ceph-mgr:ceph-mgr ceph-osd:ceph-osd ceph:ceph-common radosgw:radosgw memcached:memcached promtool:prometheus mariadbd:mariadb-server \
		rabbitmq-server:rabbitmq-server; do \
		command -v $${t%%:*} >/dev/null 2>&1 || [ -x /usr/sbin/$${t%%:*} ] || [ -x /usr/bin/$${t%%:*} ] || \
			missing="$$missing $${t#*:}"; done; \
	for p in python3-rbd python3-rados ceph-mgr-modules-core; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing from Debian:$$missing (apt's output: $(APT_LOG))"; \
		$(call apt_install,--no-install-recommends $$missing); fi
	@# the report's browser test renders reports/health.html in Debian's Chromium
	@command -v chromium >/dev/null 2>&1 || { echo "installing from Debian: chromium (apt's output: $(APT_LOG))"; \
		$(call apt_install,chromium fonts-liberation); }

venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements.txt requirements-dev.txt
	@echo "building the suite's venv in $(VENV) (pip's output: $(VENV)/pip.log)"
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install --disable-pip-version-check -r requirements.txt -r requirements-dev.txt \
		> $(VENV)/pip.log 2>&1 || { tail -n 25 $(VENV)/pip.log; echo "pip failed: see $(VENV)/pip.log"; exit 1; }
	@touch $@

lab-up: deps
	$(LAB) up

lab-down:
	$(LAB) down

lab-status:
	$(LAB) status

lab-env:
	@$(LAB) env

# The lab's acceptance test: Tempest's image API tests (tempest.api.image.v2, Tempest pinned in
# lab/tempest-requirements.txt, its own venv under HC_LAB_DIR) against the running lab, judged
# against lab/templates/tempest-expected.toml; 3-4 min at concurrency 2 (+1 min the first time,
# for Tempest's venv). Summary: reports/lab-acceptance.txt.
lab-acceptance:
	$(LAB) acceptance

# The checks against the lab: what a newcomer runs first. Every store (file, rbd, swift) and both
# deployment styles: the two traditional controllers and the Kolla-style glance_api container.
# Exit 0 when the report is written (exit 1 of pytest means the checks found faults: that is the
# report's content); a suite error (exit 2 and up) or a missing report fails.
demo: deps
	HC_LAB_KOLLA=1 $(LAB) up
	@rm -f reports/health.html; rc=0; $(LAB_ENV) $(PY) -m pytest checks/ $(LAB_ARGS) --host=podman://glance_api \
		--glance-api-url=podman:glance_api=http://$${HC_LAB_KOLLA_ADDR:-127.0.0.4}:9292 || rc=$$?; \
	if [ $$rc -gt 1 ] || [ ! -s reports/health.html ]; then echo "demo: the suite did not complete (exit $$rc)"; exit 1; fi; \
	echo "report: reports/health.html (junit: reports/junit.xml, json: reports/health.json)"

# The checks against any cloud: make check ARGS="--host=ctl1 --host=ctl2 --os-cloud=prod"
check: venv
	$(PY) -m pytest checks/ $(ARGS)

SELFTEST_ARGS := -o testpaths=tests --html=reports/selftest.html --junitxml=reports/selftest-junit.xml \
	--health-json= -p no:randomly

test: lab-up
	$(LAB_ENV) $(PY) -m pytest tests/ $(SELFTEST_ARGS)

test-unit: venv
	$(PY) -m pytest tests/unit $(SELFTEST_ARGS)

# ruff with pyproject.toml's rules; shellcheck on every tracked file that starts with a sh/bash #!
lint: venv
	$(VENV)/bin/ruff check .
	@command -v shellcheck >/dev/null || { echo "lint: shellcheck is missing (apt-get install shellcheck)"; exit 1; }
	git ls-files -z | xargs -0 grep -slIE '^#!(/usr)?/bin/(env )?(ba)?sh\b' | xargs -r shellcheck

bench: lab-up
	$(LAB_ENV) $(PY) -m bench.run

clean: lab-down
	rm -rf $(VENV) reports/*.html reports/*.xml reports/*.json
