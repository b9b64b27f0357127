"""What the national analysis tests share (3101 / 3102 / 3103): a message in the national shape
about one of the kit's persons buying drugs at institution A, as a deployed HIS adapter sends
it (optionally with local fields), and the fields every result must carry."""

from __future__ import annotations

import itertools

_seq = itertools.count(1)

RESULT_FIELDS = frozenset({"jr_id", "rule_id", "rule_name", "vola_cont", "patn_id", "mdtrt_id",
                           "judge_result_detail_dtos", "vola_amt", "vola_amt_stas", "sev_deg", "vola_evid",
                           "vola_bhvr_type", "task_id"})
DETAIL_FIELDS = frozenset({"jrd_id", "patn_id", "mdtrt_id", "rx_id", "vola_item_type", "vola_amt"})


def purchase(world, psn_no: str, amount: float, *, local_fields: bool = False) -> dict:
    """A 3101/3102 `input`: one patient, one drug-purchase encounter (med_mdtrt_type 3) at
    institution A with one current order of `amount` yuan. With `local_fields`, the patient,
    encounter and order carry a field of the sender's own (a deployed adapter's extension)."""
    n = next(_seq)
    mdtrt_id = f"CK{world.tag}M{n:03d}"
    order = {"rx_id": f"{mdtrt_id}-1", "hilist_code": "XA01AA01", "hilist_name": "阿莫西林胶囊", "cnt": 1,
             "pric": amount, "sumamt": amount, "curr_drord_flag": "1"}
    encounter = {"mdtrt_id": mdtrt_id, "medins_id": world.inst_a.fixmedins_code, "med_mdtrt_type": "3",
                 "medfee_sumamt": amount, "fsi_diagnose_dtos": [], "fsi_order_dtos": [order]}
    patient = {"patn_id": psn_no, "curr_mdtrt_id": mdtrt_id, "fsi_encounter_dtos": [encounter]}
    if local_fields:
        patient["ck_local_patient_tag"] = "p"
        encounter["ck_local_ward"] = "w"
        order["ck_local_batch"] = "b"
    return {"data": {"task_id": f"CK{world.tag}T{n:03d}", "trig_scen": "7", "patient_dtos": [patient]}}
