"""The FastAPI application.

Routes:

- `POST /tx/{infno}` — one transaction (the OpenAPI document lists each number separately).
- `POST /tx`         — the national platform's single endpoint: the body's `infno` decides.
- `GET /healthz`     — liveness for load balancers; unauthenticated, reveals nothing.
- `GET /openapi.json`, `/docs` — the interface, generated from the transaction registry.

Everything else goes through `Gateway.handle`, in a worker thread (storage is synchronous), in
one of two bounded lanes: requests carrying an image (`"image_b64"` in the body: face detection and
embedding, tens of milliseconds outside the GIL) get `image_threads` threads, everything else
`request_threads`. A burst of photos therefore never takes the threads that pings, verifications
with an embedding and scene messages need; and light transactions do not pile up in dozens of
threads contending for the GIL and the single SQLite writer.
"""

from __future__ import annotations

import asyncio
import functools
import json
import weakref

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import Response

from reference import errors as E
from reference.api.gateway import Gateway
from reference.api.openapi import build_openapi
from reference.config import Settings
from reference.state import AppState, build_state

IMAGE_MARK = b'"image_b64"'  # a capture with an image: routed to the image lane


def _json(status: int, payload: dict) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False), status_code=status, media_type="application/json"
    )


async def _read_body(request: Request, limit: int) -> bytes:
    """Read the body, stopping as soon as it exceeds `limit` (never buffers a huge upload)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise E.BodyTooLarge(f"{declared} bytes, limit {limit}", field="body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise E.BodyTooLarge(f"more than {limit} bytes", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: Settings | None = None, state: AppState | None = None) -> FastAPI:
    state = state or build_state(settings or Settings())
    gateway = Gateway(state)
    app = FastAPI(
        title="scenemon institution interface",
        version="0.1.0",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.scenemon = state
    app.state.gateway = gateway
    # The lanes' limiters, made on first use inside each event loop that serves this app (a
    # limiter belongs to the loop it was made in; tests start several loops over one app).
    lanes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, anyio.CapacityLimiter]] = \
        weakref.WeakKeyDictionary()

    def lane(body: bytes) -> anyio.CapacityLimiter:
        loop = asyncio.get_running_loop()
        mine = lanes.get(loop)
        if mine is None:
            mine = lanes[loop] = {"light": anyio.CapacityLimiter(state.settings.request_threads),
                                  "image": anyio.CapacityLimiter(state.settings.image_threads)}
        return mine["image" if IMAGE_MARK in body else "light"]

    async def dispatch(request: Request, infno: str | None) -> Response:
        try:
            body = await _read_body(request, state.settings.max_body_bytes)
        except E.BodyTooLarge as exc:
            return _json(exc.http_status, gateway._error(exc, None, gateway._now_str()))
        status, payload = await anyio.to_thread.run_sync(
            functools.partial(gateway.handle, infno, request.headers, body), limiter=lane(body)
        )
        return _json(status, payload)

    @app.post("/tx/{infno}", include_in_schema=False)
    async def tx_by_number(infno: str, request: Request) -> Response:
        return await dispatch(request, infno)

    @app.post("/tx", include_in_schema=False)
    async def tx_single_endpoint(request: Request) -> Response:
        return await dispatch(request, None)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok"}

    app.openapi = lambda: build_openapi(gateway.transactions)  # type: ignore[method-assign]
    return app
