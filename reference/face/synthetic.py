"""The synthetic-face model: identities and captures as embeddings, never real faces.

Each synthetic person has an identity vector (a seeded random direction in 512-d space); each
capture is that direction plus isotropic noise, normalised. With noise norm `s`, two captures of
one person have expected cosine ≈ 1 / (1 + s²) and captures of different people ≈ 0 with
standard deviation 1/√dim. The default s = 0.5 gives genuine ≈ 0.80, impostor ≈ 0 ± 0.044.

The simulator, the device mocks, the demo and the calibration command all use this one model.
Its embeddings are labelled with model id `synthetic:v1` and are compared only with each other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

MODEL_ID = "synthetic:v1"
DIM = 512


@dataclass(frozen=True)
class SyntheticFaces:
    noise: float = 0.5
    dim: int = DIM
    model_id: str = MODEL_ID

    def identity(self, person_key: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(person_key.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def capture(self, person_key: str, rng: np.random.Generator) -> np.ndarray:
        noise = rng.standard_normal(self.dim).astype(np.float32) * (self.noise / np.sqrt(self.dim))
        v = self.identity(person_key) + noise
        return (v / np.linalg.norm(v)).astype(np.float32)

    def expected_genuine_cosine(self) -> float:
        return 1.0 / (1.0 + self.noise**2)
