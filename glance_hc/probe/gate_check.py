"""Glance's own pre-upgrade checks, run on a controller in glance's interpreter as the worker user.

Shipped as program text (`python -I -c TEXT ARGS...`, argv as data, never pasted in) and printing
one JSON document on stdout. Stdlib plus what glance's venv has: glance, glance_store,
oslo.config, oslo.upgradecheck, oslo.policy. It only reads: the config files, the policy file
and, through `glance-manage db check`, the database.

- upgrade checks: the checks the installed `glance-status upgrade check` ships
  (glance.cmd.status.Checks), after registering what glance_store registers for a multistore
  cloud (enabled_backends and each backend's group, as glance's WSGI app does at start):
  glance-status itself crashes there with NoSuchOptError on enabled_backends.
- validation: oslo.config's validator (oslo-config-validator) with glance-api's namespaces,
  plus the groups glance_store makes at run time for each backend, on every config file.
- policy: the policy file's format and its overrides of rules the release deprecates.
- db: `glance-manage db check`, its exit code and words.
- --upgrade-to PATH: the same validation and checks, in the interpreter of a venv or prefix
  holding the target release, as a child of this run (same round trip).
A step that cannot run says why, as data ({"error": {"type", "message", "stage"}}).
"""
import argparse
import contextlib
import difflib
import io
import json
import logging
import os
import subprocess
import sys
import traceback

PROGRAM_VERSION = 1
# glance's etc/oslo-config-generator/glance-api.conf: the namespaces of glance-api's options
GLANCE_API_NAMESPACES = [
    "castellan.config", "glance.api", "glance.store", "glance.multi_store", "oslo.concurrency",
    "oslo.messaging", "oslo.db", "oslo.policy", "keystonemiddleware.auth_token", "oslo.log",
    "oslo.middleware.cors", "oslo.middleware.healthcheck", "oslo.middleware.http_proxy_to_wsgi",
    "oslo.reports",
]
# libraries glance-api loads that register their own groups at run time, which that list misses:
# glance.quota.keystone imports oslo_limit.limit, which registers [oslo_limit]
RUNTIME_NAMESPACES = ["oslo.limit"]
# glance.common.wsgi_app.RESERVED_STORES, when that module cannot be imported
RESERVED_STORES = {"os_glance_staging_store": "file", "os_glance_tasks_store": "file"}
CODES = {0: "success", 1: "warning", 2: "failure"}
DISTRIBUTIONS = ("glance", "glance_store", "oslo.config", "oslo.upgradecheck", "oslo.policy")


def _error(stage, exc):
    return {"type": type(exc).__name__, "message": str(exc).strip()[:2000], "stage": stage,
            "where": "".join(traceback.format_tb(exc.__traceback__)[-1:]).strip()[-600:]}


def _versions():
    import importlib.metadata as md
    out = {}
    for name in DISTRIBUTIONS:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def _config_args(args):
    argv = []
    for path in args.config_file:
        argv += ["--config-file", path]
    for path in args.config_dir:
        argv += ["--config-dir", path]
    return argv


def _files_of(args):
    """Each file oslo.config reads: the given files, then *.conf of the given dirs, sorted."""
    files = list(args.config_file)
    for d in args.config_dir:
        try:
            files += sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".conf"))
        except OSError:
            pass
    return files


def load_conf(args, out):
    """glance's CONF with the running files, and glance_store's options as the WSGI app has them."""
    from oslo_config import cfg
    conf = cfg.CONF
    try:
        import glance.common.config  # noqa: F401 - enabled_backends, which glance-status never imports
        from glance.cmd import status  # noqa: F401 - registers what glance-status registers
    except Exception as exc:  # noqa: BLE001
        out["error"] = _error("importing glance", exc)
        return None
    try:
        conf(_config_args(args), project="glance", prog="glance-api", default_config_files=[],
             default_config_dirs=[])
    except BaseException as exc:  # noqa: BLE001 - SystemExit from argparse too
        out["error"] = _error("reading the config files", exc)
        return None
    reserved = RESERVED_STORES
    try:
        from glance.common import wsgi_app
        reserved = dict(wsgi_app.RESERVED_STORES)
    except Exception:  # noqa: BLE001 - the documented pair is the fallback
        pass
    import glance_store
    try:
        if conf.enabled_backends:
            glance_store.register_store_opts(conf, reserved_stores=reserved)
        else:
            glance_store.register_opts(conf)
    except Exception as exc:  # noqa: BLE001
        out["error"] = _error("registering glance_store's options", exc)
        return None
    out["enabled_backends"] = dict(conf.enabled_backends or {})
    out["reserved_stores"] = sorted(reserved) if conf.enabled_backends else []
    return conf


def upgrade_checks(conf):
    """Every check glance.cmd.status.Checks ships, each with its own verdict or exception."""
    result = {"checks": []}
    try:
        from glance.cmd import status
        checks = status.Checks()
        listed = list(checks._upgrade_checks)
    except Exception as exc:  # noqa: BLE001
        result["error"] = _error("loading glance.cmd.status.Checks", exc)
        return result
    for name, func in listed:
        entry = {"name": str(name)}
        try:
            if isinstance(func, tuple):
                fn, kwargs = func
                res = fn(checks, **kwargs)
            else:
                res = func(checks)
            entry["code"] = CODES.get(int(res.code), f"code {int(res.code)}")
            entry["details"] = None if res.details is None else str(res.details)
        except Exception as exc:  # noqa: BLE001 - one check's crash is its own verdict
            entry["code"] = "error"
            entry["details"] = None
            entry["error"] = _error(f"running check {name}", exc)
        result["checks"].append(entry)
    return result


def _installed_namespaces():
    import importlib.metadata as md
    eps = md.entry_points()
    group = eps.select(group="oslo.config.opts") if hasattr(eps, "select") else eps.get("oslo.config.opts", [])
    return {ep.name for ep in group}


def _backend_groups(conf):
    """The groups glance_store makes at run time: each backend's (and each reserved store's) driver
    options, as register_store_opts registers them, plus what each driver registers when it is
    created (MULTI_BACKEND_OPTIONS: store_description, weight; its OPTIONS in [backend_defaults]).
    No namespace lists them: the sample names drivers, not backends."""
    from glance_store import driver as store_driver
    from glance_store import multi_backend
    groups, defaults = [], {}
    backends = dict(conf.enabled_backends or {})
    backends.update({n: t for n, t in RESERVED_STORES.items() if n not in backends})
    for name, store_type in backends.items():
        group = conf._groups.get(name)
        opts = [d["opt"] for d in group._opts.values()] if group is not None else []
        driver = multi_backend._load_multi_store(None, store_type, False)  # the class: nothing connects
        if driver is not None:
            # swift's entry point is a factory function of its two Store classes: the base class's
            multi = getattr(driver, "MULTI_BACKEND_OPTIONS", store_driver.Store.MULTI_BACKEND_OPTIONS) or []
            opts += [o for o in multi if o.dest not in {x.dest for x in opts}]
            for o in getattr(driver, "OPTIONS", None) or []:
                defaults.setdefault(o.dest, o)
        if opts:
            groups.append((name, opts))
    if defaults:
        groups.append(("backend_defaults", list(defaults.values())))
    return groups


def _auth_groups(sections):
    """keystoneauth plugin options of groups that name an auth_type, as keystonemiddleware and
    oslo.limit register them at run time (the validator skips keystone_authtoken for lack of them)."""
    try:
        from keystoneauth1 import loading
    except ImportError:
        return []
    out = []
    for section, options in sections.items():
        auth_type = options.get("auth_type", [None])[-1]
        if not auth_type:
            continue
        try:
            opts = loading.get_auth_plugin_conf_options(auth_type)
        except Exception:  # noqa: BLE001 - an unknown plugin: its options cannot be told
            continue
        opts = list(opts) + list(loading.get_auth_common_conf_options())
        opts += list(loading.get_session_conf_options()) + list(loading.get_adapter_conf_options())
        out.append((section, opts))
    return out


def validate(conf, files):
    """oslo.config's validator, finding by finding, on each file."""
    from oslo_config import cfg, generator, validator
    result = {"namespaces": [], "missing_namespaces": [], "files": files, "findings": []}
    try:
        installed = _installed_namespaces()
        wanted = GLANCE_API_NAMESPACES + RUNTIME_NAMESPACES
        names = [n for n in wanted if n in installed]
        result["namespaces"] = names
        result["missing_namespaces"] = [n for n in wanted if n not in installed]
        listing = generator._list_opts(names)
        sections_of = {}
        for path in files:
            sections = {}
            cfg.ConfigParser(path, sections).parse()
            sections_of[path] = sections
        merged = {}
        for sections in sections_of.values():
            for section, options in sections.items():
                merged.setdefault(section, {}).update(options)
        listing.append(("glance_store backends", _backend_groups(conf)))
        listing.append(("keystoneauth1 plugins", _auth_groups(merged)))
        gen_conf = cfg.ConfigOpts()  # the validator's own options, as oslo-config-validator parses them
        validator._register_cli_opts(gen_conf)
        gen_conf([arg for n in names for arg in ("--namespace", n)] + ["--input-file", files[0]],
                 project="oslo-config-validator", default_config_files=[], default_config_dirs=[])
        opt_data = generator._generate_machine_readable_data(generator._get_groups(listing), gen_conf)
    except Exception as exc:  # noqa: BLE001
        result["error"] = _error("loading the release's option definitions", exc)
        return result
    known = opt_data["options"]
    by_name = {}
    for group, data in known.items():
        for opt in data["opts"]:
            for n in {opt["name"], opt.get("dest")} - {None}:
                by_name.setdefault(n, []).append(group)
    for path, sections in sections_of.items():
        for section, options in sections.items():
            for option in options:
                finding = _judge(section, option, opt_data, known, by_name, validator)
                if finding:
                    finding.update(file=path, section=section, option=option)
                    result["findings"].append(finding)
    return result


def _judge(section, option, opt_data, known, by_name, validator):
    if validator._validate_deprecated_opt(section, option, opt_data):
        dep = next(o for o in opt_data["deprecated_options"][section] if option in (o.get("name"), o.get("dest")))
        return {"kind": "deprecated", "replacement_group": dep.get("replacement_group"),
                "replacement_name": dep.get("replacement_name"),
                "detail": f"deprecated name: use [{dep.get('replacement_group')}] {dep.get('replacement_name')}"}
    if not validator._validate_opt(section, option, opt_data):
        elsewhere = sorted(set(by_name.get(option, [])) - {section})
        if section not in known:
            close = difflib.get_close_matches(section, list(known), n=1)
            return {"kind": "unknown-section", "groups": elsewhere, "did_you_mean": close[0] if close else None,
                    "detail": f"no option group [{section}] in this release (not an enabled backend either)"
                              + (f"; did you mean [{close[0]}]?" if close else "")}
        if elsewhere:
            return {"kind": "wrong-group", "groups": elsewhere,
                    "detail": f"{option} belongs in [{'], ['.join(elsewhere)}], not [{section}]"}
        names = [o["name"] for o in known[section]["opts"]] + [o.get("dest") or "" for o in known[section]["opts"]]
        close = difflib.get_close_matches(option, names, n=1)
        return {"kind": "unknown", "did_you_mean": close[0] if close else None,
                "detail": f"not an option of [{section}] in this release; Glance ignores it"
                          + (f" (did you mean {close[0]}?)" if close else "")}
    opt = next(o for o in known[section]["opts"] if option in (o["name"], o.get("dest")))
    if opt.get("deprecated_for_removal"):
        return {"kind": "deprecated-for-removal", "deprecated_since": opt.get("deprecated_since"),
                "reason": (opt.get("deprecated_reason") or "").strip() or None,
                "detail": "deprecated for removal" + (f" since {opt['deprecated_since']}"
                                                      if opt.get("deprecated_since") else "")}
    return None


def policy(conf):
    """The policy file Glance would load, its format, and its overrides of rules the release
    deprecates or no longer has (an unknown rule is ignored, like a misspelled option)."""
    result = {"policy_file": None, "path": None, "format": None, "findings": []}
    try:
        from oslo_policy import opts as policy_opts
        from oslo_policy import policy as oslo_policy
        conf.register_opts(policy_opts._options, group=policy_opts._option_group)
        result["policy_file"] = conf.oslo_policy.policy_file
        path = conf.find_file(conf.oslo_policy.policy_file)
        result["path"] = path
        result["enforce_new_defaults"] = bool(getattr(conf.oslo_policy, "enforce_new_defaults", False))
        if not path:
            return result
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            json.loads(text)
            result["format"] = "json"
        except ValueError:
            result["format"] = "yaml"
        rules = oslo_policy.parse_file_contents(text) or {}
        from glance import policies
        defaults = list(policies.list_rules())
    except Exception as exc:  # noqa: BLE001
        result["error"] = _error("reading the policy file", exc)
        return result
    by_name = {r.name: r for r in defaults}
    renamed = {}
    for r in defaults:
        dep = getattr(r, "deprecated_rule", None)
        if dep is not None and dep.name != r.name:
            renamed[dep.name] = (r, dep)
    for name, check in rules.items():
        if name in renamed:
            new, dep = renamed[name]
            result["findings"].append({"rule": name, "kind": "deprecated-name", "replacement": new.name,
                                       "since": dep.deprecated_since, "reason": (dep.deprecated_reason or "").strip()})
        elif name not in by_name:
            result["findings"].append({"rule": name, "kind": "unknown",
                                       "reason": "no such rule in this release: Glance ignores the override"})
        else:
            rule = by_name[name]
            dep = getattr(rule, "deprecated_rule", None)
            if getattr(rule, "deprecated_for_removal", False):
                result["findings"].append({"rule": name, "kind": "deprecated-for-removal",
                                           "since": rule.deprecated_since,
                                           "reason": (rule.deprecated_reason or "").strip()})
            elif dep is not None and str(check).strip() == str(dep.check_str).strip() != str(rule.check_str).strip():
                result["findings"].append({"rule": name, "kind": "pins-deprecated-default", "since": dep.deprecated_since,
                                           "reason": (dep.deprecated_reason or "").strip(),
                                           "default": rule.check_str})
    return result


def db_check(glance_manage, config_files, timeout):
    """`glance-manage db check` as glance ships it: 0 current, 3 expand, 4 migrate, 5 contract."""
    if not glance_manage or not os.path.exists(glance_manage):
        return {"rc": 127, "output": f"glance-manage not found ({glance_manage or 'not on PATH'})"}
    argv = [glance_manage]
    for path in config_files:
        argv += ["--config-file", path]
    try:
        done = subprocess.run(argv + ["db", "check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"rc": 124, "output": f"glance-manage db check did not finish within {timeout}s"}
    except OSError as exc:
        return {"rc": 126, "output": f"cannot run {glance_manage}: {exc}"}
    return {"rc": done.returncode, "output": done.stdout.decode("utf-8", "replace")[-8000:]}


def _find_glance_manage(given):
    if given:
        return given
    import shutil
    here = os.path.join(os.path.dirname(sys.executable), "glance-manage")
    return here if os.path.exists(here) else shutil.which("glance-manage")


def target_python(path):
    """A venv or prefix (PATH/bin/python3), or an interpreter itself."""
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    for name in ("python3", "python"):
        candidate = os.path.join(path, "bin", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def run_target(args, timeout):
    """This same program in the target release's interpreter, on the same files (no db check:
    the target's schema is what `db expand` will make)."""
    py = target_python(args.upgrade_to)
    if py is None:
        return {"path": args.upgrade_to, "error": {"type": "NotFound", "stage": "finding the target release",
                "message": f"no python interpreter at {args.upgrade_to} (looked for bin/python3, bin/python)"}}
    try:
        source = sys.orig_argv[sys.orig_argv.index("-c") + 1]
    except (AttributeError, ValueError, IndexError):
        with open(os.path.abspath(sys.argv[0]), encoding="utf-8") as f:
            source = f.read()
    argv = [py, "-I", "-c", source, "--no-db-check", "--timeout", str(timeout)]
    for path in args.config_file:
        argv += ["--config-file", path]
    for path in args.config_dir:
        argv += ["--config-dir", path]
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"path": args.upgrade_to, "python": py, "error": {
            "type": "Timeout", "stage": "running the target release", "message": f"no answer within {timeout}s"}}
    try:
        report = json.loads(done.stdout.decode("utf-8", "replace"))
    except ValueError:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        return {"path": args.upgrade_to, "python": py, "error": {
            "type": "NoReport", "stage": "running the target release",
            "message": f"exit {done.returncode}, no JSON report: {' | '.join(tail) or 'no output'}"}}
    report["path"] = args.upgrade_to
    return report


def parse_args(argv):
    p = argparse.ArgumentParser(prog="gate_check", add_help=False)
    p.add_argument("--config-file", action="append", default=[])
    p.add_argument("--config-dir", action="append", default=[])
    p.add_argument("--glance-manage", default=None)
    p.add_argument("--no-db-check", action="store_true")
    p.add_argument("--upgrade-to", default=None)
    p.add_argument("--timeout", type=int, default=120)
    return p.parse_args(argv)


def main(argv):
    report = {"program": "gate_check", "version": PROGRAM_VERSION, "python": sys.executable}
    try:
        args = parse_args(argv)
    except SystemExit:
        report["error"] = {"type": "UsageError", "stage": "arguments", "message": f"bad arguments: {argv!r}"}
        return report
    report["versions"] = _versions()
    report["config_files"] = _files_of(args)
    logging.basicConfig(level=logging.CRITICAL)  # the report is the output; library logs stay quiet
    conf = load_conf(args, report)
    if conf is not None:
        report["upgrade_checks"] = upgrade_checks(conf)
        report["validation"] = validate(conf, report["config_files"])
        report["policy"] = policy(conf)
    if not args.no_db_check:
        report["db_check"] = db_check(_find_glance_manage(args.glance_manage), args.config_file, args.timeout)
    if args.upgrade_to:
        report["target"] = run_target(args, args.timeout)
    return report


if __name__ == "__main__":
    stdout = sys.stdout
    with contextlib.redirect_stdout(io.StringIO()) as noise:  # what glance prints is not the report
        try:
            result = main(sys.argv[1:])
        except BaseException as exc:  # noqa: BLE001 - the report says why, always as JSON
            result = {"program": "gate_check", "version": PROGRAM_VERSION, "error": _error("gate_check", exc)}
    printed = noise.getvalue().strip()
    if printed:
        result["printed"] = printed[-2000:]
    stdout.write(json.dumps(result, default=str) + "\n")
