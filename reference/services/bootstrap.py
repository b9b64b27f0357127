"""First start: the built-in city bureau account (`city-admin`) that creates everything else."""

from __future__ import annotations

from reference import signing

CITY_ADMIN = "city-admin"


def ensure_region(state) -> str | None:
    """Create `city-admin` if missing. Returns its secret when newly created, else None."""
    with state.store.write() as db:
        if db.one("SELECT 1 FROM principals WHERE id = ?", (CITY_ADMIN,)):
            return None
        secret = state.settings.bootstrap_secret or signing.new_secret()
        db.execute(
            "INSERT INTO principals(id, kind, role, secret, institution_code, district_code,"
            " display_name, active, created_at) VALUES (?,?,?,?,?,?,?,1,?)",
            (CITY_ADMIN, "user", "city_bureau", secret, None, None,
             f"{state.settings.region_name}医保局", state.clock.now().isoformat(timespec="seconds")),
        )
    state.extras["bootstrap_secret_created"] = secret
    return secret
