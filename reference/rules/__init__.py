"""The rule library and the lead workflow (两库 + 线索) — every check in scenemon is a rule here.

- `library`    — rule files as data (interface_spec/rules/), validated; parameter overrides;
                 releases as patches; diffs.
- `knowledge`  — the knowledge base (interface_spec/knowledge/): item categories, major diseases.
- `evaluators` — the registry mapping each rule id to its code (`checks/` hold the evaluators).
- `engine`     — evaluation by stage (pre-event, in-event, post-event), decisions, replay.
- `releases`   — published and draft releases in the database; which one is in force.
- `leads`      — the lead/case workflow, audit plans.
- `stats`      — per-rule statistics and the review report (RULE-6).
"""
