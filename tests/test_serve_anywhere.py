"""Every command works from any working directory. `scenemon serve` started in an unrelated
directory keeps its database and face models in the per-user data directory (building the dlib
models there on its first start) and writes nothing into the working directory; no command's
default path is relative to the working directory; `--model-dir` and SCENEMON_FACE_MODEL_DIR
still override the default."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import httpx
import pytest

from device_mocks.client import Client
from reference.config import Settings
from reference.paths import user_data_dir
from reference.server import ServerProcess
from tests.conftest import ADMIN_SECRET

# Outputs a user asks for and collects where they ran the command (like pytest's --junitxml):
# the conformance kit's reports. Everything else a command writes defaults to the data directory.
CWD_RELATIVE_BY_DESIGN = {("conformance", "junit"), ("conformance", "json")}


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch) -> Path:
    """An empty working directory outside the repository, with HOME and XDG_DATA_HOME in the
    temporary directory (nothing is written into the real home) and no SCENEMON_* settings."""
    for name in [k for k in os.environ if k.startswith("SCENEMON_")]:
        monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_serve_from_an_unrelated_directory_answers_and_keeps_its_database_in_the_user_data_dir(elsewhere, tmp_path):
    env = {"SCENEMON_FACE_ENGINE": "embedding-only", "SCENEMON_BOOTSTRAP_SECRET": ADMIN_SECRET}
    with ServerProcess(env, cwd=elsewhere, log_path=tmp_path / "server.log") as srv:
        assert httpx.get(f"{srv.base_url}/healthz").json() == {"status": "ok"}
        with Client(srv.base_url, sender="city-admin", secret=ADMIN_SECRET) as admin:
            assert admin.call("8000", {})["sender"] == "city-admin"
    assert (user_data_dir() / "scenemon.db").is_file()
    assert user_data_dir().is_relative_to(tmp_path / "home")
    assert list(elsewhere.iterdir()) == []


def test_serve_from_an_unrelated_directory_builds_the_face_models_in_the_user_data_dir(elsewhere, tmp_path):
    """The default face engine (dlib): the models are converted on the first start (once; the
    only model build of this file)."""
    log = tmp_path / "server.log"
    with ServerProcess({"SCENEMON_BOOTSTRAP_SECRET": ADMIN_SECRET}, cwd=elsewhere, log_path=log) as srv:
        assert httpx.get(f"{srv.base_url}/healthz").status_code == 200
    manifest = user_data_dir() / "models" / "dlib" / "manifest.json"
    assert manifest.is_file()
    assert f"converting dlib's CC0 models into {manifest.parent}" in log.read_text(encoding="utf-8")
    assert list(elsewhere.iterdir()) == []


def test_default_database_and_model_dir_do_not_depend_on_the_working_directory(elsewhere, tmp_path, monkeypatch):
    here = Settings()
    monkeypatch.chdir(tmp_path)
    there = Settings()
    assert here.db_path == there.db_path == user_data_dir() / "scenemon.db"
    assert here.face_model_dir == there.face_model_dir == user_data_dir() / "models"
    assert here.db_path.is_absolute() and here.face_model_dir.is_absolute()


def test_model_dir_flag_and_variable_override_the_default(elsewhere, tmp_path, monkeypatch):
    from scenemon.cli import _settings_from, build_parser

    monkeypatch.setenv("SCENEMON_FACE_MODEL_DIR", str(tmp_path / "from-env"))
    assert Settings().face_model_dir == tmp_path / "from-env"
    args = build_parser().parse_args(["serve", "--model-dir", str(tmp_path / "from-flag")])
    assert _settings_from(args).face_model_dir == tmp_path / "from-flag"


def _options(parser: argparse.ArgumentParser, path: tuple[str, ...]):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, (*path, name))
        else:
            yield path, action


def _parsers():
    from conformance.runner import build_parser as conformance_parser
    from device_mocks.cli import build_parser as mock_parser
    from scenemon.cli import build_parser

    return [(build_parser(), ("scenemon",)), (conformance_parser(), ("conformance",)), (mock_parser(), ("mock",))]


def test_no_command_defaults_to_a_path_relative_to_the_working_directory(elsewhere):
    relative = []
    for parser, root in _parsers():
        for path, action in _options(parser, root):
            default = action.default
            looks_like_path = isinstance(default, Path) or (isinstance(default, str) and "/" in default
                                                            and "://" not in default)
            if looks_like_path and not Path(default).is_absolute() and (path[-1], action.dest) not in \
                    CWD_RELATIVE_BY_DESIGN:
                relative.append(f"{' '.join(path)} --{action.dest}={default}")
    assert relative == []


def test_demo_and_loadtest_files_default_to_the_user_data_dir(elsewhere):
    from reference.demo import default_workdir
    from scenemon.cli import build_parser

    assert default_workdir() == user_data_dir() / "demo"
    args = build_parser().parse_args(["demo"])
    assert args.workdir is None and args.model_dir is None  # resolved by run_demo, not from the cwd
    assert build_parser().parse_args(["loadtest"]).out is None


def test_calibration_chart_from_an_unrelated_directory_goes_to_the_user_data_dir(elsewhere, capsys):
    from scenemon.cli import main

    small = ["--identities", "60", "--gallery", "100", "--mated", "20", "--nonmated", "100", "--target-fmr", "1e-2"]
    assert main(["face", "calibrate", *small]) == 0
    assert [p.suffix for p in (user_data_dir() / "calibration").iterdir()] == [".png"]  # the DET chart
    assert list(elsewhere.iterdir()) == []


def test_face_compact_from_an_unrelated_directory_looks_for_the_server_database(elsewhere, capsys):
    from scenemon.cli import main

    assert main(["face", "compact"]) == 2
    assert f"no database at {user_data_dir() / 'scenemon.db'}" in capsys.readouterr().out
