"""The one settings class of the reference server.

Every value can be set by an environment variable `SCENEMON_<NAME>` (for example
`SCENEMON_DB_PATH=/data/scenemon.db`) or passed explicitly by the CLI. Defaults are chosen for
the embedded single-machine set-up: SQLite and the face models in the per-user data directory
(`reference.paths.user_data_dir()`, e.g. `~/.local/share/scenemon` on Linux — never relative to
the working directory, so `scenemon serve` works from anywhere), the real-time clock.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reference.clock import EARLIEST, LATEST, in_span
from reference.paths import user_data_dir

# How the spec site's configuration page shows a default that depends on the user's platform.
USER_DATA_DIR_SHOWN = "<user data dir>"


def default_db_path() -> Path:
    return user_data_dir() / "scenemon.db"


def default_face_model_dir() -> Path:
    return user_data_dir() / "models"


class Settings(BaseSettings):
    """Server settings; see the spec site's 'Configuration' page for each one's rationale."""

    model_config = SettingsConfigDict(env_prefix="SCENEMON_", extra="forbid")

    db_path: Path = Field(
        default_factory=default_db_path,
        description=(
            "SQLite database file. Default: `scenemon.db` in the per-user data directory "
            "(`~/.local/share/scenemon` on Linux, or `$XDG_DATA_HOME/scenemon`; "
            "`~/Library/Application Support/scenemon` on macOS; `%LOCALAPPDATA%\\scenemon` on Windows), "
            "whatever the working directory. A relative path is taken from the working directory."
        ),
        json_schema_extra={"default_shown": f"{USER_DATA_DIR_SHOWN}/scenemon.db"},
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL",
        description=(
            "WAL synchronous level. NORMAL survives a crash of the server process (the "
            "acknowledged write is in the WAL in the OS page cache); FULL also survives power "
            "loss at the cost of an fsync per commit."
        ),
    )
    sqlite_wal_autocheckpoint: int = Field(
        10000, ge=0, le=1_000_000,
        description=(
            "WAL pages (4 KiB each) after which a commit copies the WAL back into the database "
            "file (SQLite's wal_autocheckpoint; 0 turns automatic checkpoints off). SQLite's "
            "default of 1000 made every request pay for frequent checkpoints of the same few "
            "hot pages; 10000 (a WAL of up to ~40 MB) cut a no-op's server time from ~79 to "
            "~63 µs and a 1:1 verification's from ~167 to ~138 µs in-process."
        ),
    )
    sqlite_cache_mib: int = Field(
        64, ge=2, le=65536,
        description=(
            "SQLite page cache per connection, in MiB (SQLite's default is 2). The nonce and "
            "message indexes take random keys; once they outgrow the cache every request reads and "
            "rewrites pages it just evicted. With 2 MiB a load test's verifications slowed by ~15 % "
            "after a few minutes of traffic (about 10 MB of recent nonces)."
        ),
    )
    region_code: str = Field("410100", description="The city (统筹区) this server supervises")
    region_name: str = Field("郑州市", description="Display name of the city")
    clock: Literal["system", "manual"] = Field(
        "system",
        description="'manual' lets a test or the simulator set business time (transaction 8901)",
    )
    clock_start: str | None = Field(
        None,
        description=(
            "ISO time (CST if naive) a manual clock starts at on a fresh database. A manual clock "
            "stores its time (transaction 8901) and, on a restart, resumes from it; a later "
            "clock_start then moves it forward, an earlier one is ignored (business time never moves "
            f"backwards). Unset on a fresh database: the current real time. Within {EARLIEST:%Y-%m-%d} … "
            f"{LATEST:%Y-%m-%d}."
        ),
    )
    sign_in_policy: Literal["off", "required"] = Field(
        "off",
        description=(
            "Whether institutions and terminals must sign in (9001 签到) and carry the live `sign_no` in every "
            "envelope. 'off' (the default): 9001/9002 work and `sign_no` is not read. 'required': a transaction "
            "without a live sign_no of the sender is refused with 2008, except ping (8000), 9001 and 9002. Bureau "
            "users never sign in. A sign_no is a session number, not a credential: the request signature "
            "authenticates the sender either way."
        ),
    )
    max_body_bytes: int = Field(
        8 * 1024 * 1024, description="Requests larger than this are refused (error 1004)"
    )
    signature_max_skew_s: int = Field(
        300, description="How far a request's timestamp may be from server time, in seconds"
    )
    face_engine: Literal["dlib", "insightface", "embedding-only"] = Field(
        "dlib", description="Which model pipeline embeds face images"
    )
    face_model_dir: Path = Field(
        default_factory=default_face_model_dir,
        description=(
            "Directory holding model packs. insightface packs use insightface's layout "
            "(<dir>/<pack>/*.onnx); the dlib pipeline is built into <dir>/dlib — by `scenemon serve` "
            "and `scenemon demo` on first use when missing, or by `scenemon face build-models`. "
            "Default: `models` in the per-user data directory (see db_path), whatever the working "
            "directory."
        ),
        json_schema_extra={"default_shown": f"{USER_DATA_DIR_SHOWN}/models"},
    )
    face_model_pack: str = Field("buffalo_l", description="insightface pack name under model dir")
    face_threads: int = Field(1, description="onnxruntime intra-op threads per session")
    face_max_image_pixels: int = Field(
        4_194_304, ge=1, le=100_000_000,
        description=(
            "Largest image (`image_b64`) accepted, in pixels (width × height), read from the JPEG or "
            "PNG header before anything is decoded; a larger one is refused with 1001 naming "
            "input.capture.image_b64. Decoding and face detection cost grows with the pixels (a "
            "4000×4000 PNG of 47 KB took 11.7 s and 3.8 GB; 8000×8000 never answered). The default, "
            "4,194,304 (2048×2048), is twice a face terminal's 2-megapixel (1920×1080) frame."
        ),
    )
    request_threads: int = Field(
        2, ge=1, le=64,
        description=(
            "Worker threads running transactions without an image. Storage writes are serialised "
            "and the rest holds Python's GIL, so more threads only contend: under 20 Locust users, "
            "2 threads against starlette's default pool of 40 took a 1:1 verification from "
            "0.89-1.03 to 0.81-0.85 ms of server CPU."
        ),
    )
    image_threads: int = Field(
        2, ge=1, le=64,
        description=(
            "Worker threads for transactions carrying an image (`image_b64`): face detection and "
            "embedding run outside the GIL, so these use the cores, and a burst of photos never "
            "occupies the threads that light transactions need. Set to the number of cores."
        ),
    )
    face_verify_threshold: float | None = Field(
        None,
        description=(
            "Cosine similarity at or above which 1:1 verification passes. None uses the "
            "calibrated operating point of the active model (see `scenemon face calibrate`)."
        ),
    )
    face_search_oversample: int = Field(
        256,
        ge=1,
        le=4096,
        description=(
            "1:N search (8124, enrolment de-duplication): how many templates the coarse Hamming scan "
            "over bit vectors passes on to exact cosine re-scoring. More finds the exact top-k more "
            "often at the cost of reading more float vectors; see docs/face-search.md for recall "
            "and latency measured at 100k and 1M templates."
        ),
    )
    face_erase_purge_timeout_s: float = Field(
        10.0, ge=0, le=600,
        description=(
            "Erasure (8123) answers once the write-ahead log is checkpointed and truncated, so that no "
            "byte of the erased templates is left on disk (GEN-5). Readers of a snapshot older than the "
            "erasure hold the log until they finish; 8123 waits for them at most this many seconds, "
            "then answers and the purge goes on in the background (a warning is logged)."
        ),
    )
    audit_capacity_per_month: int = Field(
        20,
        description=(
            "Audits the audit centre can run a month (PH-6); monthly plans take at most this many "
            "leads, highest risk first (RULE-2: suspects should match inspection capacity)"
        ),
    )
    attachment_max_bytes: int = Field(
        2 * 1024 * 1024,
        description=(
            "Largest attachment (special-registration material, 8601) accepted, in bytes after "
            "base64 decoding; larger uploads are refused with 1001 naming input.content_b64"
        ),
    )
    attachment_media_types: list[str] = Field(
        ["application/pdf", "image/jpeg", "image/png"],
        description=(
            "Media types an attachment may have; the content's leading bytes must match the "
            "declared type (scans and photos of vouchers, records and notes)"
        ),
    )
    bootstrap_secret: str | None = Field(
        None,
        description=(
            "Secret of the built-in city bureau account `city-admin`. When unset a random "
            "one is generated on first start and printed once."
        ),
    )

    @field_validator("clock_start")
    @classmethod
    def _clock_start_in_span(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO time such as 2026-03-02T08:00:00: {value!r}") from None
        if not in_span(when):
            raise ValueError(f"must lie within {EARLIEST:%Y-%m-%d} … {LATEST:%Y-%m-%d}")
        return value
