"""`scenemon conformance`: run the kit against a server and write the reports.

    settings  = preset YAML (optional) overridden by flags; secrets from flags or env variables
    [--start-reference: a fresh reference server on a free port, stopped afterwards]
    preflight = one signed ping (8000) with the bureau account, so a wrong URL or secret is
                reported once instead of as 30 errors
    pytest    = the tests in conformance/kit/, isolated from any project pytest configuration
    reports   = JUnit XML (--junit) and JSON (--json), and a per-requirement summary on stdout

Exit code: 0 when every selected test passed; 1 when a test failed or none ran; 2 when the
run could not start (bad flags or preset, server unreachable, bureau account refused).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from conformance import plugin as kit_plugin
from conformance.plugin import KitPlugin, KitSettings

KIT_DIR = Path(__file__).parent / "kit"
PRESET_DIR = Path(__file__).parent / "presets"
DEFAULT_JUNIT = "reports/conformance.xml"
DEFAULT_JSON = "reports/conformance.json"
LOCAL_SECRET = "conformance-local-secret"

PRESET_KEYS = {"base_url", "region_code", "max_body_bytes", "timeout_s", "bureau", "institution", "terminal"}
ACCOUNT_KEYS = {"bureau": "sender", "institution": "code", "terminal": "id"}

DESCRIPTION = """\
Run the scenemon conformance kit against an implementation of the institution interface.
The kit talks to the server over HTTP only. With a bureau (city bureau) account it builds its
own test world — a district, two institutions, a certified and an uncertified terminal,
persons — with codes unique to this run, then checks the envelope, signing, scope, roles,
idempotency, devices and face rules. Each test cites the requirement IDs it verifies.

Settings come from a preset YAML file (--preset) and/or flags; flags win. Secrets are best
passed as environment variables (--bureau-secret-env VAR, or `secret_env: VAR` in a preset).

examples:
  scenemon conformance --preset local --start-reference
  scenemon conformance --preset local --base-url http://127.0.0.1:9000
  scenemon conformance --base-url https://his-gw.example --bureau-sender city-admin \\
      --bureau-secret-env BUREAU_SECRET --junit out/kit.xml --json out/kit.json
  scenemon conformance --list
"""


class ConfigError(ValueError):
    """The flags or the preset do not give a usable configuration."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scenemon conformance", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", metavar="NAME|PATH",
                   help="a preset: a name from conformance/presets/ (e.g. 'local') or a YAML file path")
    p.add_argument("--base-url", help="the server under test, e.g. http://127.0.0.1:8700")
    p.add_argument("--start-reference", action="store_true",
                   help="start a fresh reference server (temporary SQLite, manual clock, "
                        "embedding-only faces) on a free port, test it, and stop it")

    acc = p.add_argument_group("accounts (secrets: prefer the *-env forms)")
    acc.add_argument("--bureau-sender", help="sender id of a city bureau account (local: city-admin)")
    acc.add_argument("--bureau-secret", help="its signing secret")
    acc.add_argument("--bureau-secret-env", metavar="VAR", help="read the bureau secret from variable VAR")
    acc.add_argument("--institution-code", help="use this existing institution as institution A")
    acc.add_argument("--institution-secret", help="its signing secret")
    acc.add_argument("--institution-secret-env", metavar="VAR", help="read it from variable VAR")
    acc.add_argument("--terminal-id", help="use this existing certified terminal of institution A")
    acc.add_argument("--terminal-secret", help="its signing secret")
    acc.add_argument("--terminal-secret-env", metavar="VAR", help="read it from variable VAR")

    srv = p.add_argument_group("server parameters")
    srv.add_argument("--region-code", help="the server's city code (default 410100); kit districts go inside it")
    srv.add_argument("--max-body-bytes", type=int, help="the server's request size limit (default 8388608)")
    srv.add_argument("--timeout", type=float, dest="timeout_s", help="HTTP timeout in seconds (default 30)")

    out = p.add_argument_group("output and selection")
    out.add_argument("--junit", default=DEFAULT_JUNIT, metavar="PATH",
                     help=f"JUnit XML report (default {DEFAULT_JUNIT})")
    out.add_argument("--json", default=DEFAULT_JSON, metavar="PATH",
                     help=f"JSON report (default {DEFAULT_JSON})")
    out.add_argument("--level", choices=("all", "schema", "behaviour"), default="all",
                     help="schema: only the tests that judge answers by the OpenAPI document (a schema-only "
                          "mock such as `prism mock interface_spec/openapi.json` passes them); behaviour: "
                          "the others (default: all)")
    out.add_argument("-k", dest="select", metavar="EXPR", help="run only tests matching this pytest -k expression")
    out.add_argument("-v", "--verbose", action="store_true", help="list every test as it runs")
    out.add_argument("--list", action="store_true", help="list the kit's tests and requirement IDs; run nothing")
    return p


# --- settings ----------------------------------------------------------------------------------


def preset_path(name: str) -> Path:
    candidate = Path(name)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        if not candidate.is_file():
            raise ConfigError(f"preset file {name} does not exist")
        return candidate
    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(q.stem for q in PRESET_DIR.glob("*.yaml"))) or "none"
        raise ConfigError(f"no preset named {name!r} (known: {known}); or give a path to a YAML file")
    return path


def load_preset(name: str) -> dict[str, Any]:
    """Read a preset and flatten it to settings keys; unknown keys are refused."""
    path = preset_path(name)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"preset {path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"preset {path}: expected a mapping at top level")
    unknown = raw.keys() - PRESET_KEYS
    if unknown:
        raise ConfigError(f"preset {path}: unknown keys {sorted(unknown)} (allowed: {sorted(PRESET_KEYS)})")
    flat: dict[str, Any] = {k: raw[k] for k in ("base_url", "region_code", "max_body_bytes", "timeout_s")
                            if raw.get(k) is not None}
    for account, id_key in ACCOUNT_KEYS.items():
        section = raw.get(account)
        if section is None:
            continue
        if not isinstance(section, dict):
            raise ConfigError(f"preset {path}: {account} must be a mapping")
        allowed = {id_key, "secret", "secret_env"}
        bad = section.keys() - allowed
        if bad:
            raise ConfigError(f"preset {path}: {account} has unknown keys {sorted(bad)} (allowed: {sorted(allowed)})")
        if section.get(id_key) is not None:
            flat[f"{account}_{id_key}"] = str(section[id_key])
        secret = _secret(section.get("secret"), section.get("secret_env"), f"preset {path}: {account}")
        if secret is not None:
            flat[f"{account}_secret"] = secret
    return flat


def _secret(literal: Any, env_var: Any, where: str) -> str | None:
    """`secret_env` wins when that variable is set; else the literal `secret`."""
    if env_var:
        value = os.environ.get(str(env_var))
        if value:
            return value
        if literal is None:
            raise ConfigError(f"{where}: environment variable {env_var} is not set")
    return None if literal is None else str(literal)


def resolve_settings(args: argparse.Namespace) -> KitSettings:
    values: dict[str, Any] = load_preset(args.preset) if args.preset else {}
    for key in ("base_url", "bureau_sender", "institution_code", "terminal_id", "region_code",
                "max_body_bytes", "timeout_s"):
        if getattr(args, key, None) is not None:
            values[key] = getattr(args, key)
    for account in ("bureau", "institution", "terminal"):
        flag_secret = getattr(args, f"{account}_secret")
        flag_env = getattr(args, f"{account}_secret_env")
        if flag_secret is not None or flag_env is not None:
            values[f"{account}_secret"] = _secret(flag_secret, flag_env, f"--{account}-secret-env")
    if args.start_reference:
        values.setdefault("bureau_sender", "city-admin")
        values.setdefault("bureau_secret", LOCAL_SECRET)
        values["base_url"] = values.get("base_url") or "http://127.0.0.1:0"  # replaced once started
    missing = [flag for key, flag in (("base_url", "--base-url"), ("bureau_sender", "--bureau-sender"),
                                      ("bureau_secret", "--bureau-secret / --bureau-secret-env"))
               if not values.get(key)]
    if missing:
        raise ConfigError("missing " + ", ".join(missing) + " (give the flags or a --preset)")
    for key, partner in (("institution_code", "institution_secret"), ("terminal_id", "terminal_secret")):
        if bool(values.get(key)) != bool(values.get(partner)):
            raise ConfigError(f"{key.replace('_', ' ')} and its secret must be given together")
    if values.get("terminal_id") and not values.get("institution_code"):
        raise ConfigError("an existing terminal needs its institution (--institution-code)")
    region = str(values.get("region_code", "410100"))
    if not (region.isdigit() and len(region) == 6):
        raise ConfigError(f"region code {region!r} must be 6 digits")
    values["region_code"] = region
    values["max_body_bytes"] = int(values.get("max_body_bytes", 8 * 1024 * 1024))
    values["timeout_s"] = float(values.get("timeout_s", 30.0))
    values["base_url"] = str(values["base_url"]).rstrip("/")
    values["run_tag"] = secrets.token_hex(4).upper()
    return KitSettings(**values)


# --- running -------------------------------------------------------------------------------------


@contextmanager
def reference_server(settings: KitSettings, workdir: Path) -> Iterator[str]:
    """A fresh reference server (the only place the kit imports `reference`)."""
    from reference.server import ServerProcess

    env = {"SCENEMON_DB_PATH": str(workdir / "c.db"), "SCENEMON_BOOTSTRAP_SECRET": settings.bureau_secret,
           "SCENEMON_CLOCK": "manual", "SCENEMON_FACE_ENGINE": "embedding-only",
           "SCENEMON_MAX_BODY_BYTES": str(settings.max_body_bytes)}
    server = ServerProcess(env, log_path=workdir / "server.log")
    try:
        server.start()
    except RuntimeError as exc:
        log = (workdir / "server.log").read_text(errors="replace")[-2000:] if (workdir / "server.log").exists() else ""
        raise ConfigError(f"the reference server did not start: {exc}\n{log}") from None
    print(f"started the reference server at {server.base_url}", flush=True)
    try:
        yield server.base_url
    finally:
        server.stop()


def preflight(settings: KitSettings) -> None:
    """One signed ping with the bureau account; a clear message instead of a wall of errors."""
    import httpx

    client = kit_plugin.make_client(settings, settings.bureau_sender, settings.bureau_secret)
    try:
        res = client.send("8000", {})
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach {settings.base_url}: {exc}") from None
    except ValueError:
        raise ConfigError(f"{settings.base_url} did not answer 1001 with a JSON envelope") from None
    finally:
        client.close()
    if not res.ok:
        env = res.envelope
        raise ConfigError(f"the bureau account {settings.bureau_sender!r} was refused: HTTP {res.status}, "
                          f"infcode {env.get('infcode')}: {env.get('err_msg')}")


def run_pytest(settings: KitSettings, *, junit: Path | None, select: str | None, verbose: bool,
               collect_only: bool = False, level: str = "all") -> tuple[int, KitPlugin]:
    import pytest

    plugin = KitPlugin(settings)
    with tempfile.TemporaryDirectory(prefix="scenemon-kit-") as tmp:
        # An empty ini file and the kit as rootdir: the project's pyproject.toml (testpaths,
        # filterwarnings=error, markers) never applies to the kit, wherever it is run from.
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        args = [str(KIT_DIR), "-c", str(ini), "--rootdir", str(KIT_DIR), "-p", "no:cacheprovider",
                "-W", "default"]
        if collect_only:
            args += ["--collect-only", "-p", "no:terminal"]  # the runner prints the list itself
        else:
            args += ["-o", "console_output_style=classic", "-rfE", "-v" if verbose else "-q"]
        if junit is not None:
            args += [f"--junitxml={junit}", "-o", "junit_suite_name=scenemon-conformance"]
        if select:
            args += ["-k", select]
        if level != "all":
            args += ["-m", "schema_level" if level == "schema" else "not schema_level"]
        # Third-party pytest plugins installed next to the kit (xdist, randomly, anyio, ...)
        # would change how the kit runs; it needs none of them.
        saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        try:
            code = pytest.main(args, plugins=[kit_plugin, plugin])
        finally:
            if saved is None:
                del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
            else:
                os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
    return int(code), plugin


def print_summary(plugin: KitPlugin, junit: Path, json_path: Path) -> None:
    report = plugin.report()
    t = report["totals"]
    print()
    print(f"scenemon conformance — {report['settings']['base_url']} (run {report['settings']['run_tag']}, "
          f"{report['duration']:.1f} s)")
    print(f"tests: {t['tests']}  passed: {t['passed']}  failed: {t['failed']}  errors: {t['error']}  "
          f"skipped: {t['skipped']}")
    for level, lt in report["levels"].items():
        if lt["tests"]:
            print(f"  {level} level: {lt['passed']}/{lt['tests']} passed, {lt['failed']} failed, {lt['error']} errors")
    reqs = report["requirements"]
    if reqs:
        print(f"\n{'requirement':<12} {'result':<11} tests passed")
        for req, entry in reqs.items():
            print(f"{req:<12} {entry['status'].upper():<11} {entry['passed']}/{entry['tests']}")
    failed = [x for x in report["tests"] if x["outcome"] in {"failed", "error"}]
    if failed:
        print("\nfailed:")
        for x in failed:
            print(f"  {x['nodeid']} [{', '.join(x['requirements'])}]\n      {x['title']}\n      → {x['message']}")
    print(f"\nreports: {junit} and {json_path}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list:
        dummy = KitSettings(base_url="http://127.0.0.1:0", bureau_sender="-", bureau_secret="-")
        _, plugin = run_pytest(dummy, junit=None, select=args.select, verbose=False, collect_only=True,
                               level=args.level)
        for rec in plugin.records.values():
            print(f"{rec.nodeid}\n    [{', '.join(rec.requirements)}] {rec.title}")
        return 0
    try:
        settings = resolve_settings(args)
    except ConfigError as exc:
        print(f"scenemon conformance: {exc}", file=sys.stderr)
        return 2
    junit, json_path = Path(args.junit), Path(args.json)
    try:
        with tempfile.TemporaryDirectory(prefix="scenemon-ref-") as tmp:
            if args.start_reference:
                with reference_server(settings, Path(tmp)) as url:
                    settings.base_url = url
                    return _run(settings, args, junit, json_path)
            return _run(settings, args, junit, json_path)
    except ConfigError as exc:
        print(f"scenemon conformance: {exc}", file=sys.stderr)
        return 2


def _run(settings: KitSettings, args: argparse.Namespace, junit: Path, json_path: Path) -> int:
    preflight(settings)
    code, plugin = run_pytest(settings, junit=junit, select=args.select, verbose=args.verbose, level=args.level)
    plugin.write_json(json_path)
    print_summary(plugin, junit, json_path)
    totals = plugin.totals()
    ran = totals["passed"] + totals["failed"] + totals["error"]
    if ran == 0:
        print("no test ran", file=sys.stderr)
        return 1
    return 0 if code == 0 and totals["failed"] == 0 and totals["error"] == 0 else 1


if __name__ == "__main__":  # `python -m conformance.runner ...` works like `scenemon conformance ...`
    sys.exit(main())
