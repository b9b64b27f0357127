"""The image-path benchmark (issue 4) runs end to end: it first brings the database to a running
server's steady state (the write-ahead log filled once and recycled), then measures every capture
kind with the model's time inside the server's time."""

from __future__ import annotations

import json
import os

from loadtests import bench_image_path


def test_bench_image_path_measures_each_capture_kind_on_a_recycled_wal(model_dir, tmp_path, capsys):
    root = tmp_path / "models"
    root.mkdir()
    os.symlink(model_dir, root / "dlib")
    out = tmp_path / "figures.json"
    assert bench_image_path.main(["--repeat", "2", "--model-dir", str(root), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    steady = next(line for line in printed.splitlines() if line.startswith("steady state:"))
    assert int(steady.split()[2]) > 100  # it took real transactions to fill the 10,000-page log
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert [k.split()[0] for k in figures] == ["full", "aligned", "aligned"]
    for label, f in figures.items():
        assert 0 < f["inference_ms"] < f["server_ms"], label
        assert f["overhead"] > 0 and f["overhead_3_models"] <= f["overhead"], label
