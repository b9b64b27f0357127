"""Transaction handlers, one module per scene. Importing this package registers them all.

Number ranges: national numbers only with their national meaning (3101-3103 analysis and
feedback, 9001/9002 sign-in and sign-out, 1101 person and 1201 institution information); our own
in 8xxx: 80xx registry, 81xx terminals and face, 82xx inpatient, 83xx hemodialysis, 84xx
rehabilitation, 85xx pharmacy, 86xx special registration, 87xx rules, 88xx big data and leads,
89xx operations and audit (see the numbering page).
"""

from reference.scenes import (  # noqa: F401
    admin,
    analysis,
    basic_info,
    devices,
    face,
    inpatient,
    registry,
    rules,
    sign_in,
    signing_modes,
    special_registration,
)
