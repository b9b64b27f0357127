"""The 1:N benchmark's data: queries are fresh captures of the identities it says it queried,
wherever in the gallery they fall (a query pool larger than one generation chunk included)."""

from __future__ import annotations

import numpy as np

from loadtests.bench_search import make_data
from reference.face.synthetic import SyntheticFaces


def test_queries_are_captures_of_the_chosen_identities_across_chunks():
    faces = SyntheticFaces.preset("arcface-like", model_id="bench:test")
    gallery, queries, idx_q = make_data(faces, n=2_500, n_queries=60, query_pool=2_500, seed=3, step=1_000)
    assert gallery.shape == (2_500, faces.dim) and queries.shape == (60, faces.dim)
    assert np.all(np.diff(idx_q) > 0) and idx_q.max() >= 2_000  # drawn from every chunk, not only the first
    best = np.argmax(queries @ gallery.T, axis=1)
    assert (best == idx_q).mean() >= 0.98  # a query's closest template is its own identity's
    own = np.einsum("ij,ij->i", queries, gallery[idx_q])
    assert float(np.median(own)) > 0.5  # genuine pairs, not impostors


def test_the_default_pool_takes_queries_from_the_first_chunk_as_before():
    faces = SyntheticFaces.preset("arcface-like", model_id="bench:test")
    _, queries, idx_q = make_data(faces, n=1_500, n_queries=20, query_pool=1_000, seed=4, step=1_000)
    assert queries.shape[0] == 20 and idx_q.max() < 1_000
