"""A terminal-computed embedding capture: validated once, embedded from the validated array."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from reference.config import Settings
from reference.face.core import FaceCore
from reference.scenes.face import FaceCapture


def test_embedding_capture_is_normalised_from_the_validated_array():
    raw = [float(x) for x in np.random.default_rng(0).standard_normal(512)]
    cap = FaceCapture.model_validate({"embedding": raw, "embedding_model": "m"})
    emb = FaceCore(Settings()).from_capture(cap)
    expected = np.asarray(raw, dtype=np.float32)
    np.testing.assert_array_equal(emb.vector, expected / np.linalg.norm(expected))
    assert emb.vector.dtype == np.float32 and emb.model_id == "m" and emb.source == "embedding"
    assert "_vector" not in cap.model_dump()  # not part of the interface
    # a capture built without validation is embedded from its list
    unchecked = FaceCapture.model_construct(embedding=raw, embedding_model="m")
    np.testing.assert_array_equal(FaceCore(Settings()).from_capture(unchecked).vector, emb.vector)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_embedding_is_refused(bad):
    raw = [0.1] * 511 + [bad]
    with pytest.raises(ValidationError, match="non-finite"):
        FaceCapture.model_validate({"embedding": raw, "embedding_model": "m"})
