"""Running the reference server: in this process (`serve`) or as a child process (`ServerProcess`),
which the demo, the tests, the conformance runner and the load tests use."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from reference.config import Settings

log = logging.getLogger("scenemon.server")


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8700, log_level: str = "info") -> None:
    import uvicorn

    from reference.api.app import create_app
    from reference.state import build_state

    state = build_state(settings)
    new_secret = state.extras.get("bootstrap_secret_created")
    if new_secret and not settings.bootstrap_secret:
        print(
            "First start: created the city bureau account 'city-admin'.\n"
            f"Its signing secret (shown once, keep it safe): {new_secret}",
            flush=True,
        )
    if settings.face_engine != "embedding-only":
        # Load the face engine now: a missing model pack stops the start with a message that says
        # where to put it, instead of failing the first terminal that sends an image. The dlib
        # models are converted from an installed package, so a first start builds them.
        from reference.errors import ModelUnavailable

        try:
            if settings.face_engine == "dlib":
                _ensure_dlib_models(settings.face_model_dir / "dlib")
            state.face_core().engine()
        except ModelUnavailable as exc:
            state.store.close()
            raise SystemExit(
                f"error: the face engine {settings.face_engine!r} cannot start: {exc.message}\n"
                "To accept terminal-computed embeddings only, start with --face-engine embedding-only "
                "(SCENEMON_FACE_ENGINE=embedding-only)."
            ) from None
    app = create_app(state=state)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def _ensure_dlib_models(target: Path) -> None:
    """Build the dlib models into `target` when missing; a failure is ModelUnavailable."""
    from reference.errors import ModelUnavailable
    from reference.face.dlib.build import ensure_models
    from reference.face.dlib.serialize import DatFormatError

    try:
        ensure_models(target, progress=lambda m: print(m, flush=True))
    except (OSError, DatFormatError) as exc:  # SourceModelsNotFound is an OSError
        raise ModelUnavailable(f"could not build the dlib models in {target}: {exc}") from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A reference server in a child process on 127.0.0.1; use as a context manager. `env` adds to
    or replaces variables of this process's environment (settings are SCENEMON_*); `cwd` is the
    child's working directory (default this process's)."""

    def __init__(self, settings_env: dict[str, str], port: int | None = None,
                 log_path: Path | None = None, cwd: Path | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **settings_env}
        self.log_path = log_path
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60.0) -> ServerProcess:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "scenemon.cli", "serve", "--port", str(self.port),
                 "--log-level", "warning"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd,
            )
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # the child keeps its own copy of the descriptor
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with code {self.proc.returncode}"
                                   + (f"; see {self.log_path}" if self.log_path else ""))
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer on {self.base_url} within {timeout_s:.0f} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run (used to prove acknowledged writes survive)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
