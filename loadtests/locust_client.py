"""The bridge between Locust and the device mocks' signed client, and the seeded world's file.

`LocustTerminal` wraps `device_mocks.client.Client` — the same envelope building and signing
as every device mock — and only swaps the transport: requests go through Locust's HTTP session
(so Locust times and counts them) under the name ``"<infno> <label>"``. A request fails in
Locust's statistics when the answer is not a JSON envelope with ``infcode`` 0.

`LoadWorld` is what `scenemon loadtest` seeds and the Locust users read (a JSON file named by
``SCENEMON_LOADTEST_WORLD``): the terminals' credentials, the bureau's, and the enrolled persons.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from device_mocks.client import Client, TxResult
from reference.face.synthetic import SyntheticFaces

WORLD_ENV = "SCENEMON_LOADTEST_WORLD"


@dataclass
class Credentials:
    sender: str
    secret: str
    fixmedins_code: str | None = None
    opter_type: str = "1"


@dataclass
class LoadWorld:
    base_url: str
    bureau: Credentials
    terminals: list[Credentials]
    persons: list[str]  # enrolled: each has a template of `model_id`
    spare_persons: list[str] = field(default_factory=list)  # registered, not enrolled
    model_id: str = "synthetic:v1"
    has_identify: bool = False  # the server implements transaction 8124
    # terminal → the persons its institution registered and enrolled: the only ones it may verify
    # (a person is visible to the institutions linked to them, see the spec site's scope page)
    persons_by_terminal: dict[str, list[str]] = field(default_factory=dict)

    def persons_of(self, terminal: str) -> list[str]:
        return self.persons_by_terminal.get(terminal) or self.persons

    def save(self, path: Path) -> Path:
        Path(path).write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")
        return Path(path)

    @classmethod
    def load(cls, path: Path | str | None = None) -> LoadWorld:
        path = path or os.environ.get(WORLD_ENV)
        if not path:
            raise RuntimeError(f"set {WORLD_ENV} to the world file written by `scenemon loadtest`")
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        raw["bureau"] = Credentials(**raw["bureau"])
        raw["terminals"] = [Credentials(**t) for t in raw["terminals"]]
        return cls(**raw)


class _LocustResponse:
    def __init__(self, status_code: int, envelope: dict[str, Any]) -> None:
        self.status_code = status_code
        self._envelope = envelope

    def json(self) -> dict[str, Any]:
        return self._envelope


class _LocustTransport:
    """Looks like the `httpx.Client.post` that `Client.post_raw` calls; sends through Locust."""

    def __init__(self, session) -> None:
        self.session = session
        self.label = ""

    def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> _LocustResponse:
        infno = url.rsplit("/", 1)[-1]
        with self.session.post(url, data=content, headers=headers, name=f"{infno} {self.label}".strip(),
                               catch_response=True) as resp:
            try:
                env = json.loads(resp.content or b"{}")
            except ValueError:
                resp.failure(f"HTTP {resp.status_code}: not a JSON envelope")
                return _LocustResponse(resp.status_code or 599, {"infcode": -1})
            if env.get("infcode") == 0:
                resp.success()
            else:
                resp.failure(f"infcode {env.get('infcode')}: {env.get('err_msg')}")
            return _LocustResponse(resp.status_code, env)


class LocustTerminal:
    """A signed client whose requests Locust measures. `send(infno, input, label)` → TxResult."""

    def __init__(self, session, base_url: str, creds: Credentials) -> None:
        self._transport = _LocustTransport(session)
        self.client = Client(base_url, sender=creds.sender, secret=creds.secret, fixmedins_code=creds.fixmedins_code,
                             opter=creds.sender, opter_type=creds.opter_type, http=self._transport,  # type: ignore[arg-type]
                             retries=0)

    def send(self, infno: str, input: dict[str, Any], label: str = "") -> TxResult:
        """Build, sign and send one envelope. A capture from `CapturePool` carries its embedding
        pre-encoded: it is spliced into the JSON body before signing (the body is then signed by
        `Client.post_raw` like any other), so the load generator does not spend its CPU turning
        the same 512 floats into text on every request."""
        self._transport.label = label
        capture = input.get("capture")
        if not isinstance(capture, PreEncoded):
            return self.client.send(infno, input)
        env = self.client.envelope(infno, {**input, "capture": {**capture, "embedding": _SLOT}})
        body = json.dumps(env, ensure_ascii=False).replace(f'"{_SLOT}"', capture.embedding_json, 1).encode()
        resp = self.client.post_raw(infno, body)
        return TxResult(resp.status_code, resp.json())


_SLOT = "@@scenemon-embedding@@"


class PreEncoded(dict):
    """A capture dict whose `embedding` is also kept as JSON text (`embedding_json`)."""

    embedding_json: str


def embedding_capture(vector: np.ndarray, model_id: str, encoding: str = "b64") -> dict[str, Any]:
    """A terminal-computed embedding capture.

    ``encoding="b64"`` (the default, what a terminal's face SDK hands out): ``embedding_b64``, the
    base64 of the little-endian float32 bytes. ``encoding="json"``: ``embedding``, a JSON list
    rounded to 6 decimals, returned as `PreEncoded` so that the load generator turns the floats
    into text once, not on every request."""
    common = {"embedding_model": model_id, "quality": 0.9, "liveness": {"passed": True, "score": 0.97, "method": "ir"}}
    if encoding == "b64":
        blob = np.ascontiguousarray(vector, dtype="<f4").tobytes()
        return {"embedding_b64": base64.b64encode(blob).decode("ascii"), **common}
    if encoding != "json":
        raise ValueError(f"encoding must be b64 or json, not {encoding!r}")
    emb = [round(float(x), 6) for x in vector]
    cap = PreEncoded(embedding=emb, **common)
    cap.embedding_json = json.dumps(emb)
    return cap


class CapturePool:
    """Pre-computed captures, so that a Locust user spends its time sending, not drawing vectors."""

    def __init__(self, persons: list[str], model_id: str, seed: int, size: int = 64, encoding: str = "b64") -> None:
        faces = SyntheticFaces(model_id=model_id) if model_id != SyntheticFaces().model_id else SyntheticFaces()
        rng = np.random.default_rng(seed)
        picks = rng.choice(len(persons), size=min(size, len(persons)), replace=False)
        self.genuine = [(persons[i], embedding_capture(faces.capture(persons[i], rng), model_id, encoding))
                        for i in picks]
        # An impostor: someone else's face presented for this person.
        self.impostor = [(persons[i], embedding_capture(faces.capture(f"stranger-{seed}-{i}", rng), model_id, encoding))
                         for i in picks[: max(1, len(picks) // 8)]]
        self._rng = rng

    def pick(self, impostor_share: float = 0.0) -> tuple[str, dict[str, Any]]:
        pool = self.impostor if self._rng.random() < impostor_share else self.genuine
        return pool[int(self._rng.integers(len(pool)))]
