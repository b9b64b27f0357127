"""Transaction handlers, one module per scene. Importing this package registers them all.

Number ranges: 1xxx registry and devices, 2xxx face, 3xxx inpatient, 4xxx hemodialysis,
5xxx rehabilitation, 6xxx pharmacy, 7xxx rules and leads, 9xxx administration.
"""

from reference.scenes import admin, devices, face, inpatient, registry, rules, special_registration  # noqa: F401
