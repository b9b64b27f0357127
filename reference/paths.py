"""Where things are: the repository's data folders (the normative `interface_spec/` and `docs/`),
and the per-user data directory that holds what a command writes by default."""

from pathlib import Path

import platformdirs

REPO_ROOT = Path(__file__).resolve().parents[1]
INTERFACE_SPEC = REPO_ROOT / "interface_spec"
DOCS = REPO_ROOT / "docs"


def user_data_dir() -> Path:
    """The per-user data directory: what every command writes unless told otherwise (the default
    database, the face models, the demo's and the load test's working files). Independent of the
    working directory, so any command works from anywhere. platformdirs picks the platform's
    place: `$XDG_DATA_HOME/scenemon` (else `~/.local/share/scenemon`) on Linux,
    `~/Library/Application Support/scenemon` on macOS, `%LOCALAPPDATA%\\scenemon` on Windows.
    Read at each call, so a changed `XDG_DATA_HOME` or `HOME` takes effect."""
    return Path(platformdirs.user_data_dir("scenemon", appauthor=False))
