"""`scenemon face compact` — reclaim the space, and destroy the bytes, of erased face templates.

Erasure (transaction 8123) removes a template from every query at once, but sqlite-vec only marks
a deleted vector invalid inside its chunk, so the embedding's bytes stay in the file until the
vector tables are rebuilt. This command rebuilds them (live templates only), vacuums the database
and truncates the WAL (see `reference.face.templates.compact`). It holds the database's write lock
while it runs — at a million templates, about as long as copying the file — so run it in a quiet
hour; servers on the same database pick up the rebuilt tables by themselves (their search
mirrors reload). VACUUM cannot run inside a transaction, which is why this is a command and not
a gateway transaction.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_face_compact(args: argparse.Namespace) -> int:
    from reference.config import Settings
    from reference.face.templates import compact
    from reference.store import open_store

    path = Path(args.db) if args.db else Settings().db_path
    if not path.exists():
        print(f"no database at {path} (give --db or set SCENEMON_DB_PATH)")
        return 2
    store = open_store(path)
    try:
        print(f"compacting {path} …", flush=True)
        out = compact(store)
    finally:
        store.close()
    freed = out["bytes_before"] - out["bytes_after"]
    print(f"{out['templates']} templates kept; {out['bytes_before']:,} → {out['bytes_after']:,} bytes "
          f"({freed:,} reclaimed)")
    return 0


def register(sub, groups) -> None:
    p = groups["face"].add_parser("compact", help="rebuild the face vector tables and vacuum the database",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", help="database file (default: SCENEMON_DB_PATH, else scenemon.db in the per-user "
                                "data directory — the one `scenemon serve` uses)")
    p.set_defaults(func=cmd_face_compact)
