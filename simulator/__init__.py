"""The SimPy simulator: a synthetic region with fraud ground truth (issue 13).

    scenario.py     the scenario file (world, behaviour, roll-out, rules, audit, deterrence levers)
    world.py        the region: districts, institutions, insured persons (Faker zh_CN, GB 11643)
    provision.py    the region put on a server through the typed drivers
    behaviour/      care pathways, fraud patterns, decoys and operations as YAML state machines
    engine.py       SimPy processes that run the behaviour modules on the business clock
    actions/        what a module's action state does, per scene, through the typed drivers
    labels.py       the three label layers: ground truth, what the server flagged, what audits found
    run.py          one run (in process or over HTTP) → a run directory of tables
    metrics.py, report.py, compare.py   recall, precision, burden, money; the HTML report
    parallel.py     replications and sweeps, locally or on Ray
"""
