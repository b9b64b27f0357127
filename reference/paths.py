"""Where the repository's data folders are: the normative `interface_spec/` and `docs/`."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
INTERFACE_SPEC = REPO_ROOT / "interface_spec"
DOCS = REPO_ROOT / "docs"
