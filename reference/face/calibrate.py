"""Operating points (比对阈值) from labelled scores: thresholds, error rates and the DET curve.

A *score set* is two arrays of cosine similarities: **genuine** (mated) pairs — two captures of
the same person — and **impostor** (non-mated) pairs — captures of different people. Verification
passes when `score >= threshold`, so for a threshold `t`

- FMR(t)  = share of impostor scores `>= t` (false match rate, 误识率),
- FNMR(t) = share of genuine scores `< t`  (false non-match rate, 拒识率).

The threshold for a target FMR is read off the impostor scores (their empirical upper quantile),
never guessed. It is only *resolved* when the set holds at least `1 / FMR` impostor scores
(otherwise no impostor may score above it and the true FMR is unknown below `1 / n`); the report
says so instead of printing a number it cannot support.

1:N identification (NIST FRTE style, rank 1): a gallery of N enrolled people is searched with
*mated* probes (the person is enrolled) and *non-mated* probes (they are not).

- FPIR(t) = share of non-mated searches whose best candidate scores `>= t`,
- FNIR(t) = share of mated searches where the mate is not the best candidate or scores `< t`.

The threshold for FPIR 1e-3 is the 0.999 quantile of the non-mated searches' top scores. With
embeddings (the synthetic model) the searches are run for real over a gallery; with a score file
only, FPIR is estimated from FMR as `1 − (1 − FMR(t))^N` (independent comparisons) and FNIR as
FNMR(t), which ignores a mate being outranked by an impostor — a lower bound.

File formats read by `load_scores` (and written by `save_scores`):

- `.csv`: a header `score,label`, one pair per row; `label` is `genuine`/`impostor` (also
  accepted: `1`/`0`, `mated`/`nonmated`, `true`/`false`). Lines starting with `#` are comments.
- `.npz`: arrays `genuine` and `impostor` (1-d, float); an optional string array `model_id`.
"""

from __future__ import annotations

import csv
import itertools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from reference.face.synthetic import SyntheticFaces

FMR_TARGETS = (1e-4, 1e-6)
FPIR_TARGET = 1e-3
_GENUINE = {"genuine", "mated", "1", "true", "same"}
_IMPOSTOR = {"impostor", "nonmated", "non-mated", "0", "false", "different"}


# -- score sets ------------------------------------------------------------------------------------
@dataclass
class ScoreSet:
    """Labelled similarity scores of one model (cosines; higher means more alike)."""

    genuine: np.ndarray
    impostor: np.ndarray
    model_id: str = "unknown"
    description: str = ""
    #: Rank-1 1:N searches, when they were run for real: mated (mate score, mate is rank 1) and
    #: non-mated (best score); see `search_scores`.
    search: SearchScores | None = None
    dim: int | None = None
    #: Seconds to create one template (capture → normalised embedding), when measured.
    creation_s: float | None = None

    def __post_init__(self) -> None:
        self.genuine = np.asarray(self.genuine, dtype=np.float64).ravel()
        self.impostor = np.asarray(self.impostor, dtype=np.float64).ravel()
        if not len(self.genuine) or not len(self.impostor):
            raise ValueError("a score set needs at least one genuine and one impostor score")
        if not (np.all(np.isfinite(self.genuine)) and np.all(np.isfinite(self.impostor))):
            raise ValueError("scores must be finite numbers")


@dataclass
class SearchScores:
    """Outcome of real 1:N searches over a gallery of `gallery_size` templates."""

    gallery_size: int
    mated_score: np.ndarray  # the mate's score, per mated search
    mated_rank1: np.ndarray  # the mate was the best candidate (bool)
    nonmated_top: np.ndarray  # the best candidate's score, per non-mated search


def load_scores(path: Path, model_id: str | None = None) -> ScoreSet:
    """Read a `.csv` or `.npz` score file (formats in the module docstring); errors name the line."""
    path = Path(path)
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("genuine", "impostor") if k not in z.files]
            if missing:
                raise ValueError(f"{path}: missing array(s) {', '.join(missing)} (need genuine, impostor)")
            mid = str(z["model_id"]) if "model_id" in z.files else None
            return ScoreSet(z["genuine"], z["impostor"], model_id or mid or "unknown", f"scores from {path}")
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path}: unknown score file type (use .csv or .npz)")
    gen, imp = [], []
    with path.open(newline="", encoding="utf-8") as f:
        rows = csv.reader(line for line in f if not line.lstrip().startswith("#"))
        header = [h.strip().lower() for h in next(rows, [])]
        if "score" not in header or "label" not in header:
            raise ValueError(f"{path}: the header must name the columns 'score' and 'label'")
        si, li = header.index("score"), header.index("label")
        for n, row in enumerate(rows, start=2):
            if not row:
                continue
            try:
                score = float(row[si])
                label = row[li].strip().lower()
            except (IndexError, ValueError):
                raise ValueError(f"{path}: row {n} is not 'score,label': {row}") from None
            if label in _GENUINE:
                gen.append(score)
            elif label in _IMPOSTOR:
                imp.append(score)
            else:
                raise ValueError(f"{path}: row {n}: label {row[li]!r} is neither genuine nor impostor")
    return ScoreSet(np.array(gen), np.array(imp), model_id or "unknown", f"scores from {path}")


def save_scores(path: Path, scores: ScoreSet) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".npz":
        np.savez_compressed(path, genuine=scores.genuine, impostor=scores.impostor,
                            model_id=np.array(scores.model_id))
    else:
        with path.open("w", newline="", encoding="utf-8") as f:
            f.write(f"# {scores.model_id}: {scores.description}\n")
            w = csv.writer(f)
            w.writerow(["score", "label"])
            w.writerows([f"{s:.6f}", "genuine"] for s in scores.genuine)
            w.writerows([f"{s:.6f}", "impostor"] for s in scores.impostor)
    return path


# -- the synthetic-face model --------------------------------------------------------------------------
def synthetic_scores(faces: SyntheticFaces, *, identities: int = 2000, gallery: int = 10000,
                     mated_searches: int = 2000, nonmated_searches: int = 10000,
                     seed: int = 0) -> ScoreSet:
    """Scores of the synthetic-face model.

    1:1: each of `identities` people has an enrolment capture and a probe capture; genuine pairs
    are (enrolment, probe) of one person, impostor pairs every (enrolment, probe) of two people —
    `identities² − identities` of them (about 4 million for 2000). 1:N: a gallery of `gallery`
    enrolled people searched with probes of `mated_searches` of them and of `nonmated_searches`
    people who are not enrolled.
    """
    rng = np.random.default_rng(seed)
    ids = faces.random_identities(identities, rng)
    t0 = time.perf_counter()
    enrol = faces.captures_of(ids, rng)
    creation = (time.perf_counter() - t0) / identities
    probe = faces.captures_of(ids, rng)
    sims = enrol @ probe.T
    genuine = np.diag(sims).copy()
    impostor = sims[~np.eye(identities, dtype=bool)]
    del sims
    search = None
    if gallery > 0:
        g_ids = faces.random_identities(gallery, rng)
        g = faces.captures_of(g_ids, rng)
        m = min(mated_searches, gallery)
        mated = faces.captures_of(g_ids[:m], rng)
        outsiders = faces.captures_of(faces.random_identities(nonmated_searches, rng), rng)
        search = search_scores(g, mated, np.arange(m), outsiders)
    return ScoreSet(genuine, impostor, faces.model_id, _describe(faces, identities, gallery, m if gallery else 0,
                                                                   nonmated_searches if gallery else 0, seed),
                    search=search, dim=faces.dim, creation_s=creation)


def _describe(faces: SyntheticFaces, identities: int, gallery: int, mated: int, nonmated: int, seed: int) -> str:
    if faces.genuine_mean is None:
        model = f"capture noise {faces.noise}, isotropic identities"
    else:
        imp_sd = "1/sqrt(dim)" if faces.impostor_sd is None else f"{faces.impostor_sd}"
        model = (f"genuine {faces.genuine_mean} ± {faces.genuine_sd}, impostor {faces.impostor_mean} ± {imp_sd}")
    text = (f"synthetic-face model ({model}); {identities} identities → {identities} genuine and "
            f"{identities * (identities - 1)} impostor pairs")
    if gallery:
        text += f"; 1:N over a gallery of {gallery} with {mated} mated and {nonmated} non-mated searches"
    return text + f"; seed {seed}"


def search_scores(gallery: np.ndarray, mated_probes: np.ndarray, mates: np.ndarray,
                  nonmated_probes: np.ndarray, chunk: int = 1000) -> SearchScores:
    """Exhaustive rank-1 1:N searches (exact cosine over normalised rows)."""
    mated_score = np.empty(len(mated_probes))
    rank1 = np.empty(len(mated_probes), dtype=bool)
    for i in range(0, len(mated_probes), chunk):
        s = mated_probes[i:i + chunk] @ gallery.T
        rows = np.arange(s.shape[0])
        ms = s[rows, mates[i:i + chunk]]
        mated_score[i:i + chunk] = ms
        s[rows, mates[i:i + chunk]] = -np.inf
        rank1[i:i + chunk] = ms > s.max(axis=1)
    top = np.empty(len(nonmated_probes))
    for i in range(0, len(nonmated_probes), chunk):
        top[i:i + chunk] = (nonmated_probes[i:i + chunk] @ gallery.T).max(axis=1)
    return SearchScores(len(gallery), mated_score, rank1, top)


# -- rates and thresholds --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Threshold:
    """The threshold for a target rate, read off the empirical score distribution."""

    target: float
    value: float
    resolved: bool  # enough scores to support the target (n ≥ 1/target)
    n: int  # scores it was read from
    measured: float  # the rate actually measured at `value`


def threshold_at_fmr(impostor: np.ndarray, target: float) -> Threshold:
    """Lowest threshold whose measured FMR (share of impostors `>= t`) is at most `target`."""
    return _upper_quantile_threshold(np.asarray(impostor, dtype=np.float64), target)


def _upper_quantile_threshold(scores: np.ndarray, target: float) -> Threshold:
    if not 0 < target < 1:
        raise ValueError("a target rate must be in (0, 1)")
    n = len(scores)
    allowed = math.floor(target * n + 1e-9)  # impostors that may score at or above the threshold
    desc = np.sort(scores)[::-1]
    # Just above the first impostor that must be rejected (ties with it are rejected too).
    value = float(desc[-1]) if allowed >= n else float(np.nextafter(desc[allowed], np.inf))
    measured = float(np.count_nonzero(scores >= value)) / n
    return Threshold(target, value, n * target >= 1.0, n, measured)


def fmr(impostor: np.ndarray, t: float) -> float:
    return float(np.count_nonzero(np.asarray(impostor) >= t)) / len(impostor)


def fnmr(genuine: np.ndarray, t: float) -> float:
    return float(np.count_nonzero(np.asarray(genuine) < t)) / len(genuine)


def det_curve(genuine: np.ndarray, impostor: np.ndarray, points: int = 400) -> tuple[np.ndarray, ...]:
    """(thresholds, FMR, FNMR) over the whole score range, for the DET chart."""
    g, i = np.sort(genuine), np.sort(impostor)
    lo, hi = min(g[0], i[0]), max(g[-1], i[-1])
    ts = np.unique(np.concatenate([np.linspace(lo, hi, points), np.quantile(i, 1 - np.logspace(-7, 0, points)
                                                                             .clip(0, 1))]))
    fmr_ = 1.0 - np.searchsorted(i, ts, side="left") / len(i)
    fnmr_ = np.searchsorted(g, ts, side="left") / len(g)
    return ts, fmr_, fnmr_


# -- the report ------------------------------------------------------------------------------------------
@dataclass
class IdentificationPoint:
    method: str  # "search" (real searches) or "approximation" (from 1:1 scores)
    gallery_size: int
    threshold: float
    fpir: float
    fnir: float
    resolved: bool
    searches: tuple[int, int] = (0, 0)  # mated, non-mated


@dataclass
class Report:
    scores: ScoreSet
    thresholds: list[Threshold]
    fnmr_at: dict[float, float]
    identification: IdentificationPoint | None
    template_bytes: dict[str, int] = field(default_factory=dict)
    creation_s: float | None = None
    comparison_s: dict[str, float] = field(default_factory=dict)
    chart: Path | None = None

    def threshold_for(self, target: float) -> Threshold:
        for t in self.thresholds:
            if t.target == target:
                return t
        raise KeyError(target)


def identification(scores: ScoreSet, gallery_size: int, target: float = FPIR_TARGET) -> IdentificationPoint:
    s = scores.search
    if s is not None:
        th = _upper_quantile_threshold(s.nonmated_top, target)
        hit = s.mated_rank1 & (s.mated_score >= th.value)
        return IdentificationPoint("search", s.gallery_size, th.value, th.measured, 1.0 - float(hit.mean()),
                                   th.resolved, (len(s.mated_score), len(s.nonmated_top)))
    # FPIR(t) = 1 − (1 − FMR(t))^N  ⇒  the FMR that gives the target FPIR over N comparisons:
    per_comparison = 1.0 - (1.0 - target) ** (1.0 / gallery_size)
    th = threshold_at_fmr(scores.impostor, per_comparison)
    fpir = 1.0 - (1.0 - th.measured) ** gallery_size
    return IdentificationPoint("approximation", gallery_size, th.value, fpir, fnmr(scores.genuine, th.value),
                               th.resolved)


def comparison_times(dim: int, gallery: int = 100_000, repeat: int = 2000, seed: int = 0) -> dict[str, float]:
    """Seconds per comparison: one 1:1 cosine (two normalised vectors, one call) and per template
    in an exhaustive scan (a matrix-vector product over `gallery` templates)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(dim).astype(np.float32)
    b = rng.standard_normal(dim).astype(np.float32)
    t0 = time.perf_counter()
    for _ in range(repeat):
        float(a @ b)
    one = (time.perf_counter() - t0) / repeat
    m = rng.standard_normal((gallery, dim), dtype=np.float32)
    m @ a
    t0 = time.perf_counter()
    for _ in range(5):
        m @ a
    scan = (time.perf_counter() - t0) / 5 / gallery
    return {"one_to_one": one, "scan_per_template": scan}


def template_bytes(dim: int) -> dict[str, int]:
    """What the store keeps per template: the float32 vector and its 1-bit quantised copy."""
    return {"float32": 4 * dim, "bit": math.ceil(dim / 8), "total": 4 * dim + math.ceil(dim / 8)}


def calibrate(scores: ScoreSet, *, gallery_size: int = 10000, fmr_targets: tuple[float, ...] = FMR_TARGETS,
              timing: bool = True) -> Report:
    thresholds = [threshold_at_fmr(scores.impostor, f) for f in fmr_targets]
    fnmr_at = {t.target: fnmr(scores.genuine, t.value) for t in thresholds}
    ident = identification(scores, gallery_size)
    report = Report(scores, thresholds, fnmr_at, ident, creation_s=scores.creation_s)
    if scores.dim:
        report.template_bytes = template_bytes(scores.dim)
        if timing:
            report.comparison_s = comparison_times(scores.dim)
    return report


def format_report(r: Report) -> str:
    s = r.scores
    lines = [f"model {s.model_id}: {s.description}",
             f"  {len(s.genuine)} genuine scores (mean {s.genuine.mean():.4f}, sd {s.genuine.std():.4f}), "
             f"{len(s.impostor)} impostor scores (mean {s.impostor.mean():.4f}, sd {s.impostor.std():.4f}, "
             f"max {s.impostor.max():.4f})",
             "  1:1 verification (pass when score >= threshold):"]
    for t in r.thresholds:
        note = "" if t.resolved else (f"  UNRESOLVED: {t.n} impostor scores cannot support FMR {t.target:g} "
                                      f"(need >= {math.ceil(1 / t.target)}); threshold is just above the "
                                      "highest impostor")
        lines.append(f"    FMR {t.target:g}: threshold {t.value:.4f} (measured FMR {t.measured:.2e}), "
                     f"FNMR {r.fnmr_at[t.target]:.4%}{note}")
    if r.identification:
        p = r.identification
        how = (f"{p.searches[0]} mated / {p.searches[1]} non-mated rank-1 searches" if p.method == "search"
               else "estimated from 1:1 scores: FPIR = 1-(1-FMR)^N, FNIR ~ FNMR")
        lines.append(f"  1:N identification, gallery {p.gallery_size} ({how}):")
        lines.append(f"    FPIR {FPIR_TARGET:g}: threshold {p.threshold:.4f} (measured FPIR {p.fpir:.2e}), "
                     f"FNIR {p.fnir:.4%}" + ("" if p.resolved else "  UNRESOLVED: too few non-mated scores"))
    if r.template_bytes:
        b = r.template_bytes
        lines.append(f"  template: {b['total']} bytes ({b['float32']} float32 + {b['bit']} bit copy)")
    if r.creation_s is not None:
        lines.append(f"  template creation: {r.creation_s * 1e3:.3f} ms per template")
    if r.comparison_s:
        c = r.comparison_s
        lines.append(f"  comparison: {c['one_to_one'] * 1e6:.2f} µs per 1:1 call, "
                     f"{c['scan_per_template'] * 1e9:.1f} ns per template in a scan")
    if r.chart:
        lines.append(f"  DET chart: {r.chart}")
    return "\n".join(lines)


# -- the DET chart ---------------------------------------------------------------------------------------
def det_chart(reports: list[Report], path: Path, title: str = "DET curve") -> Path:
    """A DET chart (FNMR against FMR, both logarithmic) with the FMR targets marked; PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    for r in reports:
        _, fm, fn = det_curve(r.scores.genuine, r.scores.impostor)
        floor_m, floor_n = 0.5 / len(r.scores.impostor), 0.5 / len(r.scores.genuine)
        ax.plot(np.maximum(fm, floor_m), np.maximum(fn, floor_n), label=r.scores.model_id)
        for t in r.thresholds:
            if t.resolved:
                ax.plot(max(t.measured, floor_m), max(r.fnmr_at[t.target], floor_n), "o", color="black", ms=4)
    for target in FMR_TARGETS:
        ax.axvline(target, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1e-7, 1)
    ax.set_xlabel("false match rate (FMR)")
    ax.set_ylabel("false non-match rate (FNMR)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


# -- operating_points.yaml ---------------------------------------------------------------------------------
def operating_point_entry(report: Report, target_fmr: float, model_prefix: str, source: str | None = None) -> dict:
    """The YAML entry for `model_prefix` at `target_fmr`; refuses a target the scores cannot support."""
    t = report.threshold_for(target_fmr)
    if not t.resolved:
        raise ValueError(f"FMR {target_fmr:g} needs at least {math.ceil(1 / target_fmr)} impostor scores; "
                         f"this set has {t.n}")
    text = source or (f"scenemon face calibrate: {report.scores.description}. At threshold {t.value:.4f} "
                      f"the measured FMR is {t.measured:.2e} over {t.n} impostor pairs and FNMR is "
                      f"{report.fnmr_at[target_fmr]:.4%} over {len(report.scores.genuine)} genuine pairs.")
    # Rounded *up* to 4 decimals, so that the written threshold is never laxer than the measured one.
    return {"model_prefix": model_prefix, "threshold": math.ceil(float(t.value) * 1e4) / 1e4, "target_fmr": target_fmr,
            "source": text}


def write_operating_point(entry: dict, path: Path) -> Path:
    """Add or replace the entry with the same `model_prefix`, keeping the file's header comments."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    header = "".join(itertools.takewhile(lambda line: line.startswith("#"), text.splitlines(keepends=True)))
    data = yaml.safe_load(text) or {}
    points = list(data.get("operating_points") or [])
    same = [i for i, e in enumerate(points) if e.get("model_prefix") == entry["model_prefix"]]
    if same:
        points[same[0]] = entry
    else:
        points.append(entry)
    body = yaml.safe_dump({"operating_points": points}, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(header + body, encoding="utf-8")
    from reference.face.core import operating_points

    operating_points.cache_clear()
    return path

