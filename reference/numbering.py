"""Transaction numbering (交易编号): the national platform's numbers and scenemon's own.

A vendor's adapter for the national medical-insurance platform already knows what each number
means; scenemon uses a national number only with that meaning (`@transaction(national=True)`),
and its own transactions in 8xxx, a range no national source uses, grouped so that the second
digit tells the group (reference.transactions.EXTENSION_GROUPS). `problems` lists every way the
registry breaks this; a test fails on any, and the spec site's numbering page is built from the
same facts.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from reference.paths import INTERFACE_SPEC
from reference.transactions import DEPRECATED_NUMBERS, EXTENSION_GROUPS, SCENE_GROUP, Transaction

NATIONAL_FILE = INTERFACE_SPEC / "national" / "transactions.yaml"


@cache
def national_catalogue() -> dict[str, Any]:
    return yaml.safe_load(NATIONAL_FILE.read_text(encoding="utf-8"))


# Extensions whose subject a national transaction also touches, and why they are not that
# transaction (so they keep an 8xxx number instead of taking the national one).
NEAR_NATIONAL: dict[str, tuple[str, str]] = {
    "8002": ("1101", "1101 (registered, national shape) reads a person by credential; 8002 also reads by psn_no and "
                     "answers the person's key-population flags, which 1101 has no field for. Both share one service "
                     "(scope, card-read link, access log)"),
    "8013": ("1201", "1201 (registered, national shape) answers code, name, credit code, national type and grade; "
                     "8013 answers our type, level and speciality (RULE-2) and the monitored scenes (8014). Both "
                     "share one service"),
    "8201": ("2401", "2401 opens the visit on the settlement platform and returns mdtrt_id; 8201 reports "
                     "an opened visit (mdtrt_id given) to monitoring with the patient's consent and whether the "
                     "department has monitoring equipment"),
    "8203": ("2402", "2402 closes the visit for settlement; 8203 reports the discharge to monitoring, which "
                     "then expects the discharge registration on a terminal (8204)"),
    "8711": ("3101", "3101 carries the national detail message; 8711 judges scenemon's settlement shape with the "
                     "scene, the face verification and the payment method, facts 3101 cannot carry"),
    "8712": ("3102", "as 8711, and 8712 records the settlement and may refuse or suspend it (appeals 8713/8714)"),
    "8121": ("9603", "9603 人脸建模 is listed by one SDK document only (unconfirmed); scenemon keeps face "
                     "enrolment in 81xx until a national document confirms the number and its fields"),
    "8122": ("9601", "9601 人脸认证: unconfirmed, as 9603"),
    "8602": ("9602", "9602 特殊登记: unconfirmed, as 9603"),
    "8212": ("9604", "9604 远程查床任务查询: unconfirmed, as 9603"),
}


def national() -> dict[str, dict[str, Any]]:
    """National number → its entry (zh, en, status, sources, note)."""
    return {row["infno"]: row for row in national_catalogue()["transactions"]}


def old_numbers(registry: dict[str, Transaction]) -> dict[str, list[str]]:
    """Current number → the deprecated old numbers that still reach it."""
    out: dict[str, list[str]] = {}
    for old, new in sorted(DEPRECATED_NUMBERS.items()):
        out.setdefault(new, []).append(old)
    return out


def problems(registry: dict[str, Transaction]) -> list[str]:
    """Every way the registry breaks the numbering rules (empty when it keeps them)."""
    nat = national()
    out: list[str] = []
    for infno, tx in sorted(registry.items()):
        if infno in nat and not tx.national:
            out.append(f"{infno} ({tx.operation_id}) has a national meaning, {nat[infno]['zh']} "
                       f"({nat[infno]['en']}): give this transaction a free 8xxx number, or register it "
                       f"with national=True if it IS that national transaction")
        elif tx.national and infno not in nat:
            out.append(f"{infno} ({tx.operation_id}) is registered national=True, but the national list "
                       f"({NATIONAL_FILE.name}) has no {infno}")
        elif not tx.national:
            group = infno[:2]
            if not (len(infno) == 4 and infno.isdigit() and group in EXTENSION_GROUPS):
                out.append(f"{infno} ({tx.operation_id}) is an extension outside the 8xxx groups "
                           f"{sorted(EXTENSION_GROUPS)}")
            elif tx.scene in SCENE_GROUP and group != SCENE_GROUP[tx.scene]:
                out.append(f"{infno} ({tx.operation_id}) belongs to scene {tx.scene}, whose group is "
                           f"{SCENE_GROUP[tx.scene]}xx")
    for old, new in sorted(DEPRECATED_NUMBERS.items()):
        if old in nat:
            out.append(f"deprecated number {old} has a national meaning ({nat[old]['zh']}); it must not "
                       f"keep reaching {new}")
        if old in registry:
            out.append(f"deprecated number {old} is registered again ({registry[old].operation_id})")
        if new not in registry:
            out.append(f"deprecated number {old} points at {new}, which is not registered")
    return out
