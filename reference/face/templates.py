"""Face templates in sqlite-vec: one vector table per model, never compared across models.

`face_models` maps each model id to its dimension and its `vec0` table; `face_templates` holds
one active template per (person, model) with its provenance. Re-enrolment replaces the vector.
"""

from __future__ import annotations

import hashlib

import numpy as np

from reference.errors import InvalidField, TemplateMissing
from reference.store import Db


def vec_table(db: Db, model_id: str, dim: int, now: str, *, field: str = "input.capture") -> str:
    """The model's vector table, created on first use. A model's dimension never changes."""
    row = db.one("SELECT dim, vec_table FROM face_models WHERE model_id=?", (model_id,))
    if row is not None:
        if row["dim"] != dim:
            raise InvalidField(
                f"model {model_id} makes {row['dim']}-d embeddings, got {dim}", field=field
            )
        return row["vec_table"]
    name = "face_vec_" + hashlib.sha256(model_id.encode()).hexdigest()[:16]
    db.execute(
        f"CREATE VIRTUAL TABLE {name} USING vec0("
        f"template_id integer primary key, embedding float[{dim}] distance_metric=cosine)"
    )
    db.execute("INSERT INTO face_models VALUES (?,?,?,?)", (model_id, dim, name, now))
    return name


def enrol(
    db: Db, *, psn_no: str, model_id: str, vector: np.ndarray, source: str, now: str,
    institution_code: str | None, terminal_id: str | None, quality: float | None,
    liveness_passed: bool | None,
) -> tuple[int, bool]:
    """Store (or replace) the person's template for this model. Returns (template_id, replaced)."""
    table = vec_table(db, model_id, int(vector.shape[0]), now)
    old = db.one("SELECT template_id FROM face_templates WHERE psn_no=? AND model_id=?", (psn_no, model_id))
    if old is not None:
        db.execute(f"DELETE FROM {table} WHERE template_id=?", (old["template_id"],))
        db.execute("DELETE FROM face_templates WHERE template_id=?", (old["template_id"],))
    tid = db.insert(
        "INSERT INTO face_templates(psn_no, model_id, source, institution_code, terminal_id,"
        " quality, liveness_passed, created_at) VALUES (?,?,?,?,?,?,?,?)",
        (psn_no, model_id, source, institution_code, terminal_id, quality,
         None if liveness_passed is None else int(liveness_passed), now),
    )
    db.execute(f"INSERT INTO {table}(template_id, embedding) VALUES (?,?)",
               (tid, vector.astype(np.float32).tobytes()))
    return tid, old is not None


def template(db: Db, psn_no: str, model_id: str, dim: int) -> tuple[int, np.ndarray]:
    """The person's template for `model_id`; `dim` is the probe's dimension, checked first."""
    model = db.one("SELECT dim FROM face_models WHERE model_id=?", (model_id,))
    if model is not None and model["dim"] != dim:
        raise InvalidField(f"model {model_id} makes {model['dim']}-d embeddings, got {dim}",
                           field="input.capture")
    row = db.one(
        "SELECT t.template_id, m.vec_table FROM face_templates t JOIN face_models m USING(model_id)"
        " WHERE t.psn_no=? AND t.model_id=?", (psn_no, model_id),
    )
    if row is None:
        raise TemplateMissing(f"person {psn_no} has no template for model {model_id}", field="input.psn_no")
    blob = db.scalar(f"SELECT embedding FROM {row['vec_table']} WHERE template_id=?", (row["template_id"],))
    return row["template_id"], np.frombuffer(blob, dtype=np.float32)


def delete(db: Db, psn_no: str, model_id: str | None = None) -> int:
    rows = db.all(
        "SELECT t.template_id, m.vec_table FROM face_templates t JOIN face_models m USING(model_id)"
        " WHERE t.psn_no=?" + (" AND t.model_id=?" if model_id else ""),
        (psn_no, model_id) if model_id else (psn_no,),
    )
    for r in rows:
        db.execute(f"DELETE FROM {r['vec_table']} WHERE template_id=?", (r["template_id"],))
        db.execute("DELETE FROM face_templates WHERE template_id=?", (r["template_id"],))
    return len(rows)
