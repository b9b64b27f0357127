"""`scenemon mock …`: act as a HIS or terminal from the command line.

    scenemon mock call --base-url URL --sender ID --secret S [--institution CODE] INFNO '{"json": "input"}'
    scenemon mock terminal --base-url URL --sender T --secret S --institution CODE heartbeat
    scenemon mock terminal ... enrol PSN_NO --synthetic      (a synthetic embedding, not a real face)
    scenemon mock terminal ... verify PSN_NO --scene inpatient --synthetic [--as OTHER_PSN]
    scenemon mock terminal ... enrol PSN_NO --image face.jpg
    scenemon mock inpatient-day --base-url URL --sender city-admin --secret S [--patients 5]
        (a full inpatient day for a new institution; needs a server with clock=manual)

`call` sends its input as it is (so you can watch the server refuse one, too); the terminal
actions and the inpatient day go through the typed drivers (`device_mocks.drivers`).

Credentials may also come from SCENEMON_MOCK_BASE_URL, SCENEMON_MOCK_SENDER,
SCENEMON_MOCK_SECRET and SCENEMON_MOCK_INSTITUTION.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from device_mocks.client import Client, TxResult


def _common(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    p.add_argument("--base-url", default=env("SCENEMON_MOCK_BASE_URL", "http://127.0.0.1:8700"))
    p.add_argument("--sender", default=env("SCENEMON_MOCK_SENDER"), help="institution code, terminal id or user id")
    p.add_argument("--secret", default=env("SCENEMON_MOCK_SECRET"), help="the sender's signing secret")
    p.add_argument("--institution", default=env("SCENEMON_MOCK_INSTITUTION"),
                   help="fixmedins_code (institutions and terminals)")


def _capture(args) -> dict:
    if args.image:
        return {"image_b64": base64.b64encode(Path(args.image).read_bytes()).decode(), "aligned": args.aligned,
                "liveness": {"passed": True}}
    from reference.face.synthetic import SyntheticFaces

    faces = SyntheticFaces()
    who = getattr(args, "as_person", None) or args.psn_no
    vec = faces.capture(who, np.random.default_rng())
    return {"embedding": vec.tolist(), "embedding_model": faces.model_id, "liveness": {"passed": True}}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scenemon mock", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True, metavar="<call|terminal|inpatient-day>")
    c = sub.add_parser("call", help="send any transaction")
    _common(c)
    c.add_argument("infno", help="transaction number, e.g. 1001")
    c.add_argument("input", nargs="?", default="{}", help="the input object as JSON")
    c.add_argument("--msgid", help="reuse a msgid (to see idempotency at work)")
    t = sub.add_parser("terminal", help="act as a certified face terminal")
    _common(t)
    tsub = t.add_subparsers(dest="action", required=True, metavar="<heartbeat|enrol|verify>")
    tsub.add_parser("heartbeat", help="send a heartbeat")
    for name in ("enrol", "verify"):
        a = tsub.add_parser(name, help=f"{name} a face")
        a.add_argument("psn_no")
        src = a.add_mutually_exclusive_group(required=True)
        src.add_argument("--synthetic", action="store_true", help="a synthetic embedding (not a real face)")
        src.add_argument("--image", help="a JPEG/PNG file for the server's face engine")
        a.add_argument("--aligned", action="store_true", help="the image is an aligned crop")
        if name == "verify":
            a.add_argument("--scene", default="inpatient")
            a.add_argument("--as", dest="as_person", help="synthetic: capture this other person instead")
    d = sub.add_parser("inpatient-day", help="run a full inpatient day for a new institution (bureau account)")
    _common(d)
    d.add_argument("--patients", type=int, default=5, help="patients to admit (at least 3)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.sender or not args.secret:
        print("error: --sender and --secret are required (or SCENEMON_MOCK_SENDER / SCENEMON_MOCK_SECRET)",
              file=sys.stderr)
        return 2
    if args.what == "inpatient-day":
        from device_mocks.client import TxError
        from device_mocks.inpatient_day import run_day

        try:
            run_day(args.base_url, args.sender, args.secret, patients=max(args.patients, 3))
        except TxError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    opter_type = "2" if args.what == "terminal" else "1"
    with Client(args.base_url, sender=args.sender, secret=args.secret, fixmedins_code=args.institution,
                opter_type=opter_type) as client:
        if args.what == "call":
            try:
                payload = json.loads(args.input)
            except json.JSONDecodeError as exc:
                print(f"error: the input is not JSON: {exc}", file=sys.stderr)
                return 2
            res = client.send(args.infno, payload, msgid=args.msgid)
        else:
            try:
                res = _terminal(client, args)
            except ValidationError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
    print(json.dumps(res.envelope, ensure_ascii=False, indent=2))
    return 0 if res.ok else 1


def _terminal(client: Client, args) -> TxResult:
    """A terminal action through the typed drivers (the input is checked before it is sent)."""
    if args.action == "heartbeat":
        return client.devices.send(client.devices.terminal_heartbeat, app_version="mock-1.0", camera_ok=True,
                                   liveness_module_ok=True)
    if args.action == "enrol":
        return client.face.send(client.face.enrol, psn_no=args.psn_no, capture=_capture(args))
    return client.face.send(client.face.verify, psn_no=args.psn_no, scene=args.scene, capture=_capture(args))


if __name__ == "__main__":
    sys.exit(main())
