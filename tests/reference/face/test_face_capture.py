"""A terminal-computed embedding capture: validated once, embedded from the validated array."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from pydantic import ValidationError

from reference.config import Settings
from reference.face.core import FaceCore
from reference.scenes.face import FaceCapture


def test_embedding_capture_is_normalised_from_the_validated_array():
    raw = [float(x) for x in np.random.default_rng(0).standard_normal(512)]
    cap = FaceCapture.model_validate({"embedding": raw, "embedding_model": "synthetic:m"})
    emb = FaceCore(Settings()).from_capture(cap)
    expected = np.asarray(raw, dtype=np.float32)
    np.testing.assert_array_equal(emb.vector, expected / np.linalg.norm(expected))
    assert emb.vector.dtype == np.float32 and emb.model_id == "synthetic:m" and emb.source == "embedding"
    assert "_vector" not in cap.model_dump()  # not part of the interface
    # a capture built without validation is embedded from its list
    unchecked = FaceCapture.model_construct(embedding=raw, embedding_model="synthetic:m")
    np.testing.assert_array_equal(FaceCore(Settings()).from_capture(unchecked).vector, emb.vector)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_embedding_is_refused(bad):
    raw = [0.1] * 511 + [bad]
    with pytest.raises(ValidationError, match=r"embedding\.511\n.*finite number"):
        FaceCapture.model_validate({"embedding": raw, "embedding_model": "synthetic:m"})


# -- embedding_b64: the embedding as base64 of little-endian float32 -------------------------------------
def _b64(vec) -> str:
    return base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode()


def test_embedding_b64_gives_the_same_vector_as_the_list():
    raw = np.random.default_rng(1).standard_normal(512).astype(np.float32)
    from_list = FaceCore(Settings()).from_capture(
        FaceCapture.model_validate({"embedding": [float(x) for x in raw], "embedding_model": "synthetic:m"}))
    blob = FaceCapture.model_validate({"embedding_b64": _b64(raw), "embedding_model": "synthetic:m"})
    from_blob = FaceCore(Settings()).from_capture(blob)
    np.testing.assert_array_equal(from_blob.vector, from_list.vector)
    assert from_blob.model_id == "synthetic:m" and from_blob.source == "embedding"
    assert blob.model_dump()["embedding_b64"] == _b64(raw)  # the text itself, unchanged
    unchecked = FaceCapture.model_construct(embedding_b64=_b64(raw), embedding_model="synthetic:m")
    np.testing.assert_array_equal(FaceCore(Settings()).from_capture(unchecked).vector, from_list.vector)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        ("not base64!", "not valid base64"),
        (base64.b64encode(bytes(2046)).decode(), "2046 bytes, not a whole number of float32"),
        (_b64(np.ones(32)), "32 dimensions; 64 to 4096 allowed"),
        (_b64([0.1] * 511 + [float("nan")]), "non-finite"),
        (_b64([0.1] * 511 + [float("inf")]), "non-finite"),
    ],
)
def test_bad_embedding_b64_is_refused_naming_the_field(blob, message):
    with pytest.raises(ValidationError, match=message) as err:
        FaceCapture.model_validate({"embedding_b64": blob, "embedding_model": "synthetic:m"})
    assert err.value.errors()[0]["loc"] == ("embedding_b64",)


@pytest.mark.parametrize(
    "fields",
    [{}, {"embedding": [0.1] * 64}, {"image_b64": "aGk="}],
)
def test_exactly_one_source_with_embedding_b64(fields):
    cap = {"embedding_b64": _b64(np.ones(64)), "embedding_model": "synthetic:m", **fields}
    if not fields:
        FaceCapture.model_validate(cap)
        cap.pop("embedding_b64")
    with pytest.raises(ValidationError, match="exactly one of image_b64, embedding and embedding_b64"):
        FaceCapture.model_validate(cap)


def test_embedding_b64_needs_its_model():
    with pytest.raises(ValidationError, match="embedding_model is required"):
        FaceCapture.model_validate({"embedding_b64": _b64(np.ones(64))})


def test_capture_with_embedding_b64_survives_copies_and_pickling():
    import copy
    import pickle

    raw = np.random.default_rng(3).standard_normal(128).astype(np.float32)
    cap = FaceCapture.model_validate({"embedding_b64": _b64(raw), "embedding_model": "synthetic:m"})
    core = FaceCore(Settings())
    expected = core.from_capture(cap).vector
    for other in (copy.deepcopy(cap), cap.model_copy(deep=True), pickle.loads(pickle.dumps(cap))):
        assert other.embedding_b64 == cap.embedding_b64
        np.testing.assert_array_equal(core.from_capture(other).vector, expected)
