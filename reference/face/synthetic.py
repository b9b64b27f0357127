"""The synthetic-face model: identities and captures as embeddings, never real faces.

Each synthetic person has an identity vector (a seeded unit direction in 512-d space); each
capture is that direction plus isotropic noise, normalised. With noise norm `s`, two captures of
one person have expected cosine ≈ 1 / (1 + s²) and captures of different people ≈ 0 with
standard deviation 1/√dim. The default s = 0.5 gives genuine ≈ 0.80, impostor ≈ 0 ± 0.044.

Both distributions are configurable, so that the simulator and the calibration command can model
a recogniser whose score distributions look like a real one's:

- `genuine_mean`, `genuine_sd`: the cosine between two captures of one person. Each capture gets
  its own quality `q` (cosine between capture and identity) drawn from a normal distribution, and
  two captures of one person score ≈ q₁·q₂; the mean and spread of `q` are solved so that q₁·q₂
  has the requested mean and standard deviation. A poor capture (low `q`) is what makes a
  genuine score low, as with real capture conditions.
- `impostor_mean`, `impostor_sd`: the cosine between captures of two different people. Identities
  share a fixed common direction (which sets the mean) and otherwise live in a random subspace
  whose dimension sets the spread (a real recogniser's embeddings use far fewer effective
  dimensions than they have coordinates, which is why its impostor scores spread wider than
  1/√512).

`SyntheticFaces.preset("arcface-like")` gives distributions shaped like a modern ArcFace-type
model on mixed-quality captures (genuine ≈ 0.65 ± 0.10, impostor ≈ 0.0 ± 0.06); its embeddings
carry their own model id so that they are calibrated separately.

The simulator, the device mocks, the demo and the calibration command all use this one model.
Its embeddings are labelled with model id `synthetic:v1` (or the preset's id) and are compared
only with each other.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

MODEL_ID = "synthetic:v1"
DIM = 512

# Quality is kept inside (Q_MIN, Q_MAX): a capture always carries some of the identity, and no
# capture is noise-free.
Q_MIN, Q_MAX = 0.05, 0.999

PRESETS: dict[str, dict] = {
    # The original model: fixed capture noise 0.5, isotropic identities.
    "default": {},
    # Shaped like published ArcFace-type (ResNet-100, cosine) score distributions on mixed
    # capture quality: mated pairs around 0.6-0.7 with a long low tail, non-mated pairs centred
    # on 0 with sd ~0.05-0.07. The numbers are a modelling choice, not a measurement of any one
    # model; calibrate a real model on its own labelled scores.
    "arcface-like": {"genuine_mean": 0.65, "genuine_sd": 0.10, "impostor_mean": 0.0,
                     "impostor_sd": 0.06, "model_id": "synthetic:arcface-like:v1"},
}


def _seed(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")


@dataclass(frozen=True)
class SyntheticFaces:
    noise: float = 0.5
    dim: int = DIM
    model_id: str = MODEL_ID
    genuine_mean: float | None = None
    genuine_sd: float = 0.0
    impostor_mean: float = 0.0
    impostor_sd: float | None = None

    def __post_init__(self) -> None:
        if self.genuine_mean is not None and not 0.0 < self.genuine_mean < Q_MAX**2:
            raise ValueError(f"genuine_mean must be in (0, {Q_MAX**2:.3f})")
        if self.genuine_sd < 0:
            raise ValueError("genuine_sd must be >= 0")
        if not -0.5 < self.impostor_mean < 0.9:
            raise ValueError("impostor_mean must be in (-0.5, 0.9)")
        if self.impostor_sd is not None and not 0 < self.impostor_sd < 1:
            raise ValueError("impostor_sd must be in (0, 1)")
        _ = self.effective_dim  # refuse an impossible impostor spread now, not at first use

    @classmethod
    def preset(cls, name: str, **over) -> SyntheticFaces:
        if name not in PRESETS:
            raise ValueError(f"unknown synthetic-face preset {name!r}; known: {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **over})

    # -- identities ------------------------------------------------------------------------------
    @property
    def _isotropic(self) -> bool:
        return self.impostor_sd is None and self.impostor_mean == 0.0

    @cached_property
    def _identity_scale(self) -> float:
        """Captures shrink identity cosines by q₁·q₂ on average; identities are spread wider by
        that factor so that *captures* of different people have the requested distribution."""
        return self.mean_quality_product()

    @cached_property
    def _common_weight(self) -> float:
        return float(np.clip(self.impostor_mean / self._identity_scale, 0.0, 0.95))

    @cached_property
    def effective_dim(self) -> int:
        """Dimension of the subspace identities vary in (sets the impostor spread)."""
        if self.impostor_sd is None:
            return self.dim - (0 if self._isotropic else 1)
        # A capture pair's cosine is q₁q₂·(identity cosine) plus cross terms of the capture noise,
        # which add variance (1 − E[(q₁q₂)²]) / dim on their own; the identity spread makes up
        # the rest of the requested variance.
        m, sd = self.quality_distribution()
        p2 = (sd * sd + m * m) ** 2
        rest = self.impostor_sd**2 - (1.0 - p2) / self.dim
        if rest <= 0:
            raise ValueError(f"impostor_sd {self.impostor_sd} is below what capture noise alone gives "
                             f"({math.sqrt((1.0 - p2) / self.dim):.4f})")
        sd_identity = math.sqrt(rest / p2)
        d = round(((1.0 - self._common_weight) / sd_identity) ** 2)
        return int(np.clip(d, 2, self.dim - 1))

    @cached_property
    def _basis(self) -> tuple[np.ndarray, np.ndarray]:
        """(common direction, dim × effective_dim orthonormal basis), fixed by the model id."""
        g = np.random.default_rng(_seed("basis:" + self.model_id)).standard_normal((self.dim, self.dim))
        q, _ = np.linalg.qr(g)
        q = q.astype(np.float32)
        return q[:, 0], np.ascontiguousarray(q[:, 1 : 1 + self.effective_dim])

    def identity(self, person_key: str) -> np.ndarray:
        rng = np.random.default_rng(_seed(person_key))
        if self._isotropic:
            v = rng.standard_normal(self.dim).astype(np.float32)
            return v / np.linalg.norm(v)
        return self._shape_identities(rng.standard_normal((1, self.effective_dim)).astype(np.float32))[0]

    def identities(self, person_keys: Sequence[str]) -> np.ndarray:
        """`identity(k)` for many keys at once (rows), for seeding large galleries."""
        if self._isotropic:
            return np.stack([self.identity(k) for k in person_keys]) if len(person_keys) else \
                np.empty((0, self.dim), np.float32)
        z = np.empty((len(person_keys), self.effective_dim), np.float32)
        for i, k in enumerate(person_keys):
            z[i] = np.random.default_rng(_seed(k)).standard_normal(self.effective_dim)
        return self._shape_identities(z)

    def random_identities(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n unkeyed identities from `rng` (fast; for benchmarks that need no person keys)."""
        if self._isotropic:
            v = rng.standard_normal((n, self.dim), dtype=np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)
        return self._shape_identities(rng.standard_normal((n, self.effective_dim), dtype=np.float32))

    def _shape_identities(self, z: np.ndarray) -> np.ndarray:
        common, basis = self._basis
        z = z / np.linalg.norm(z, axis=1, keepdims=True)
        a = self._common_weight
        v = math.sqrt(a) * common[None, :] + math.sqrt(1.0 - a) * (z @ basis.T)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    # -- captures ---------------------------------------------------------------------------------
    def quality_distribution(self) -> tuple[float, float]:
        """(mean, sd) of a capture's quality q, the cosine between capture and identity."""
        if self.genuine_mean is None:
            return 1.0 / math.sqrt(1.0 + self.noise**2), 0.0
        g, s = self.genuine_mean, self.genuine_sd
        # q₁, q₂ independent with mean m and variance v: E[q₁q₂] = m², Var = (v + m²)² − m⁴.
        return math.sqrt(g), math.sqrt(max(math.sqrt(s * s + g * g) - g, 0.0))

    def mean_quality_product(self) -> float:
        m, _ = self.quality_distribution()
        return m * m

    def _noise_norms(self, n: int, rng: np.random.Generator) -> np.ndarray:
        m, sd = self.quality_distribution()
        q = np.clip(rng.normal(m, sd, n) if sd > 0 else np.full(n, m), Q_MIN, Q_MAX)
        return np.sqrt(1.0 / q**2 - 1.0).astype(np.float32)

    def capture(self, person_key: str, rng: np.random.Generator) -> np.ndarray:
        if self.genuine_mean is None:  # the original model: the draws are unchanged
            noise = rng.standard_normal(self.dim).astype(np.float32) * (self.noise / np.sqrt(self.dim))
            v = self.identity(person_key) + noise
            return (v / np.linalg.norm(v)).astype(np.float32)
        return self.captures_of(self.identity(person_key)[None, :], rng)[0]

    def captures_of(self, identities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One capture of each identity (rows): identity + noise of a per-capture norm."""
        n = identities.shape[0]
        s = self._noise_norms(n, rng)
        noise = rng.standard_normal((n, self.dim), dtype=np.float32)
        noise *= (s / np.linalg.norm(noise, axis=1))[:, None]
        v = identities + noise
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def expected_genuine_cosine(self) -> float:
        return self.mean_quality_product()
