"""`scenemon rules list|show|diff|simulate` — inspect the rule library and its releases.

Releases are named by version. ``library`` is the rule set shipped in interface_spec/rules/; any
other version is read from a server database (``--db``, default: SCENEMON_DB_PATH, else the
per-user data directory's scenemon.db — the one `scenemon serve` uses); a path to a YAML patch
file is a draft that was not saved on the server:

    version: 2026.2-draft
    effective_from: 2026-05-01
    base_version: library          # optional; default library
    notes: lower the pharmacy threshold
    changes:
      - rule_id: PH-FACE-OVER-AMOUNT
        params: {amount_threshold_yuan: 500}

Nothing here writes to the database: `simulate` evaluates the draft on stored history the same
way transaction 8705 does, read-only.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from datetime import date, datetime, time, timedelta
from pathlib import Path

LIBRARY = "library"


class CommandError(Exception):
    pass


def _db_path(args: argparse.Namespace) -> Path:
    from reference.config import Settings

    return Path(args.db) if args.db else Settings().db_path


def _open_db(args: argparse.Namespace):
    from reference.store import open_store

    path = _db_path(args)
    if not path.exists():
        raise CommandError(f"no database at {path}: give --db, or start a server first (`scenemon serve`)")
    return open_store(path)


def _release(name: str, args: argparse.Namespace, store_box: list):
    """A RuleSet from `library`, a patch file, or a version stored in the database."""
    import yaml

    from reference.rules import releases
    from reference.rules.library import LibraryError, RuleChange, apply_patch, load_library

    if name == LIBRARY:
        return load_library()
    path = Path(name)
    if path.suffix in {".yaml", ".yml"}:
        if not path.exists():
            raise CommandError(f"no patch file {path}")
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        missing = {"version", "effective_from", "changes"} - set(raw)
        if missing:
            raise CommandError(f"{path}: the patch needs {', '.join(sorted(missing))}")
        base = _release(str(raw.get("base_version", LIBRARY)), args, store_box)
        try:
            changes = [RuleChange.model_validate(c) for c in raw["changes"]]
            return apply_patch(base, version=str(raw["version"]), effective_from=str(raw["effective_from"]),
                               changes=changes, notes=str(raw.get("notes", "")))
        except LibraryError as exc:
            raise CommandError(f"{path}: " + "; ".join(exc.problems)) from None
        except ValueError as exc:
            raise CommandError(f"{path}: {exc}") from None
    if not store_box:
        store_box.append(_open_db(args))
    from reference.errors import ScenemonError

    with store_box[0].read() as db:
        try:
            return releases.get(db, name)[0]
        except ScenemonError as exc:
            known = ", ".join(r["version"] for r in releases.list_releases(db))
            raise CommandError(f"{exc.message}; releases in {_db_path(args)}: {known or 'none'}") from None


def _stages(rule) -> str:
    return ", ".join(f"{s.replace('_event', '')}→{o}" for s, o in rule.stages.items())


def cmd_list(args: argparse.Namespace) -> int:
    rs = _release(args.release, args, [])
    rules = [r for r in rs.rules.values() if args.scene in (None, r.scene)]
    print(f"release {rs.version} (effective {rs.effective_from}): {len(rules)} rule(s)\n")
    w = max((len(r.id) for r in rules), default=2)
    sw = max([len(_stages(r)) for r in rules] + [22])
    print(f"{'id':<{w}}  {'scene':<12} {'severity':<8} {'stages (stage→outcome)':<{sw}}  name")
    for r in sorted(rules, key=lambda r: (r.scene, r.id)):
        name = f"{r.name_en} / {r.name_zh}" + ("" if r.enabled else "  [disabled]")
        print(f"{r.id:<{w}}  {r.scene:<12} {r.severity:<8} {_stages(r):<{sw}}  {name}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store_box: list = []
    rs = _release(args.release, args, store_box)
    rule = rs.rules.get(args.rule_id)
    if rule is None:
        raise CommandError(f"release {rs.version} has no rule {args.rule_id}; see `scenemon rules list`")
    inst = None
    if args.institution:
        if not store_box:
            store_box.append(_open_db(args))
        with store_box[0].read() as db:
            inst = db.one("SELECT * FROM institutions WHERE code=?", (args.institution,))
        if inst is None:
            raise CommandError(f"no institution {args.institution} in {_db_path(args)}")
    values = rule.resolve(inst)
    print(f"{rule.id} — {rule.name_en} / {rule.name_zh}  (release {rs.version})")
    print(f"scene: {rule.scene}   severity: {rule.severity}   stages: {_stages(rule)}"
          + ("" if rule.enabled else "   [disabled]"))
    print(f"requirements: {', '.join(rule.requirements)}")
    print(f"source: {rule.source}")
    print(textwrap.fill(rule.description, 100, initial_indent="  ", subsequent_indent="  "))
    if rule.composite:
        c = rule.composite
        print(f"composite: {c.op} of {', '.join(c.of)}, grouped by {c.group_by}")
    if rule.params:
        print("\nparameters" + (f" (resolved for {args.institution})" if inst else " (defaults)") + ":")
        for name, p in rule.params.items():
            unit = f" {p.unit}" if p.unit else ""
            changed = "" if values[name] == p.default else f"   (default {p.default}{unit})"
            print(f"  {name} = {values[name]}{unit}{changed}")
            print(f"      {p.description}; source: {p.source}")
    if rule.overrides:
        print("\noverrides (most specific match wins: more keys; then speciality > level > type > district):")
        for o in rule.overrides:
            cond = ", ".join(f"{k}={v}" for k, v in o.when.items())
            print(f"  when {cond}: " + ", ".join(f"{k}={v}" for k, v in o.params.items())
                  + (f"   — {o.note}" if o.note else ""))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from reference.rules.library import diff

    box: list = []
    a, b = _release(args.a, args, box), _release(args.b, args, box)
    lines = diff(a, b)
    print(f"{a.version} → {b.version}: " + (f"{len(lines)} change(s)" if lines else "no changes"))
    for line in lines:
        print("  " + line)
    return 0


def _day(s: str, flag: str) -> date:
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise CommandError(f"{flag} must be a date like 2026-03-01, got {s!r}") from None


def cmd_simulate(args: argparse.Namespace) -> int:
    from reference.rules import engine, releases

    box: list = []
    draft = _release(args.draft, args, box)
    if not box:
        box.append(_open_db(args))
    start, end = _day(args.start, "--start"), _day(args.end, "--end")
    if end < start:
        raise CommandError("--end is before --start")
    lo, hi = datetime.combine(start, time()), datetime.combine(end + timedelta(days=1), time())
    with box[0].read() as db:
        live = releases.in_force(db, date.today() if args.live is None else _day(args.live, "--live"))
        rows = engine.simulate(db, live, draft, lo, hi)
    changed = [r for r in rows if r.live_hits or r.draft_hits]
    print(f"draft {draft.version} against live {live.version} on {start} … {end} "
          f"(history in {_db_path(args)}; nothing is written)\n")
    if not changed:
        print("neither release flags anything in this period")
        return 0
    w = max(len(r.rule_id) for r in changed)
    print(f"{'rule':<{w}}  {'live':>6} {'draft':>6} {'new':>5} {'gone':>5}")
    for r in changed:
        print(f"{r.rule_id:<{w}}  {r.live_hits:>6} {r.draft_hits:>6} {len(r.newly_flagged):>5} "
              f"{len(r.no_longer_flagged):>5}")
    if args.verbose:
        for r in changed:
            for s in r.newly_flagged:
                print(f"  + {r.rule_id}: {s}")
            for s in r.no_longer_flagged:
                print(f"  - {r.rule_id}: {s}")
    return 0


def _run(func):
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except CommandError as exc:
            print(f"scenemon rules: {exc}", file=sys.stderr)
            return 2
    return wrapped


def register(sub, groups) -> None:
    rules = sub.add_parser(
        "rules", help="inspect the rule library, compare releases, run a draft against history",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    rsub = rules.add_subparsers(dest="rules_command", metavar="<subcommand>", required=True)

    def common(p, release=True):
        p.add_argument("--db", help="server database (default: SCENEMON_DB_PATH, else scenemon.db in the "
                                    "per-user data directory)")
        if release:
            p.add_argument("--release", default=LIBRARY,
                           help="'library' (default), a version in the database, or a patch .yaml")

    p = rsub.add_parser("list", help="one line per rule: scene, severity, stages, names")
    common(p)
    p.add_argument("--scene", help="only this scene (inpatient, hemodialysis, rehab, pharmacy, …)")
    p.set_defaults(func=_run(cmd_list))

    p = rsub.add_parser("show", help="a rule in full: parameters with units and sources, overrides")
    p.add_argument("rule_id")
    common(p)
    p.add_argument("--institution", help="resolve parameters for this institution (needs --db)")
    p.set_defaults(func=_run(cmd_show))

    p = rsub.add_parser("diff", help="what changed between two releases")
    p.add_argument("a", help="'library', a version in the database, or a patch .yaml")
    p.add_argument("b", help="the same kinds")
    common(p, release=False)
    p.set_defaults(func=_run(cmd_diff))

    p = rsub.add_parser("simulate", help="what a draft would have flagged in a past period (read-only)")
    p.add_argument("draft", help="a patch .yaml, or a draft version saved in the database (8703)")
    p.add_argument("--start", required=True, help="first day, e.g. 2026-03-01")
    p.add_argument("--end", required=True, help="last day (inclusive)")
    p.add_argument("--live", help="compare with the release in force on this day (default today)")
    p.add_argument("-v", "--verbose", action="store_true", help="list the subjects newly flagged or no longer")
    common(p, release=False)
    p.set_defaults(func=_run(cmd_simulate))
