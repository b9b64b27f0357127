"""Replications and parameter sweeps (重复运行与参数扫描), locally or on Ray (issue 13 point 9).

Each replication is one in-process simulation with its own store: its own directory
`out_root/seed-<n>/` (a sweep: `out_root/<point>/seed-<n>/`) holding its SQLite file and run
tables, made by `simulator.run.run_scenario(scenario, out_dir, seed=n, mode="inprocess")`.

    run_replications(path, [1, 2, 3], Path("var/reps"))                 # processes (spawn)
    run_replications(path, seeds, out, workers=1)                       # one after another
    run_replications(path, seeds, out, ray=True, workers=4)             # a local Ray
    run_replications(path, seeds, out, ray="ray://head:10001")          # an existing cluster
    sweep(path, {"audit.capacity_per_month": [10, 30]}, seeds, out)     # the cartesian grid

Overrides are dotted keys into the scenario's plain dict, applied before validation: a key
segment that is an integer indexes a list (`rules.0.changes.0.params.hours`); a missing mapping
key is created. On a remote cluster the run directory's files come back as bytes and are written
under `out_root`, so the merged result is the same wherever the replications ran.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import itertools
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

Runner = Callable[..., Any]


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """A deep copy of `data` with each dotted key set to its value."""
    out = copy.deepcopy(dict(data))
    for key, value in (overrides or {}).items():
        parts = key.split(".")
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                idx = int(part)
                if last:
                    node[idx] = copy.deepcopy(value)
                else:
                    node = node[idx]
            elif isinstance(node, dict):
                if last:
                    node[part] = copy.deepcopy(value)
                else:
                    if part not in node or node[part] is None:
                        node[part] = {}
                    node = node[part]
            else:
                raise KeyError(f"override {key!r}: {'.'.join(parts[:i])!r} is neither a mapping nor a list")
    return out


def _scenario(scenario_path: Path, overrides: Mapping[str, Any] | None):
    from simulator.scenario import load_scenario

    sc = load_scenario(scenario_path)
    if not overrides:
        return sc
    return load_scenario(apply_overrides(sc.model_dump(mode="json"), overrides))


def _real_runner(scenario_path: Path, out_dir: Path, seed: int, overrides: Mapping | None) -> Path:
    from simulator.run import run_scenario

    run_scenario(_scenario(scenario_path, overrides), out_dir, seed=seed, mode="inprocess")
    return out_dir


def _one(runner: Runner, scenario_path: Path, out_dir: Path, seed: int, overrides: Mapping | None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    runner(Path(scenario_path), out_dir, seed, overrides)
    return out_dir


def _files_of(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def run_replications(scenario_path: Path, seeds: Sequence[int], out_root: Path, *, ray: bool | str = False,
                     workers: int | None = None, overrides: Mapping | None = None, progress=None,
                     runner: Runner | None = None) -> list[Path]:
    """Run one replication per seed; return their directories in seed order. `runner(path,
    out_dir, seed, overrides)` does one (default: the real simulation)."""
    runner = runner or _real_runner
    out_root = Path(out_root)
    jobs = [(seed, out_root / f"seed-{seed}") for seed in seeds]
    done: list[Path] = []

    def tick(d: Path) -> None:
        done.append(d)
        if progress:
            progress(f"replication {len(done)}/{len(jobs)}", len(done) / len(jobs))

    if ray:
        return _on_ray(ray, runner, scenario_path, jobs, workers, overrides, tick)
    if workers == 1 or len(jobs) <= 1:
        for seed, d in jobs:
            tick(_one(runner, scenario_path, d, seed, overrides))
        return [d for _, d in jobs]
    ctx = multiprocessing.get_context("spawn")  # no forked copies of open SQLite handles or threads
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        futs = [ex.submit(_one, runner, scenario_path, d, seed, overrides) for seed, d in jobs]
        for f in cf.as_completed(futs):
            tick(f.result())
    return [d for _, d in jobs]


def _on_ray(ray_arg: bool | str, runner, scenario_path, jobs, workers, overrides, tick) -> list[Path]:
    import ray

    local = ray_arg is True
    if not ray.is_initialized():
        if local:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=str(ray_arg), log_to_driver=False)

    @ray.remote
    def task(seed: int, out_dir: str) -> dict[str, bytes] | str:
        d = _one(runner, Path(scenario_path), Path(out_dir), seed, overrides)
        return str(d) if local else _files_of(d)

    refs = {task.remote(seed, str(d)): d for seed, d in jobs}
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        d = refs[ready[0]]
        res = ray.get(ready[0])
        if isinstance(res, dict):  # a remote node's files, written here
            for rel, data in res.items():
                p = d / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
        tick(d)
    return [d for _, d in jobs]


def grid_points(grid: Mapping[str, Sequence]) -> list[dict[str, Any]]:
    """The cartesian product of the grid as a list of override mappings (keys in the grid's order)."""
    keys = list(grid)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(grid[k] for k in keys))]


def point_name(point: Mapping[str, Any]) -> str:
    return "__".join(f"{k}={v}" for k, v in point.items()).replace("/", "_") or "base"


def sweep(scenario_path: Path, grid: Mapping[str, Sequence], seeds: Sequence[int], out_root: Path, *,
          overrides: Mapping | None = None, **kw: Any) -> dict[str, list[Path]]:
    """Replications for every point of the grid, under `out_root/<k=v__...>/seed-<n>/`."""
    out = {}
    for point in grid_points(grid):
        name = point_name(point)
        out[name] = run_replications(scenario_path, seeds, Path(out_root) / name,
                                     overrides={**(overrides or {}), **point}, **kw)
    return out
