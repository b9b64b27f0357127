"""Only class III terminals may be registered (三类终端)."""

import pytest

from conformance.kit.support import expect_error, send


@pytest.mark.req("GEN-6", "DEV-3")
def test_class_ii_terminal_is_refused_with_1001(world):
    """Registering a terminal (8101) whose certification class is II is refused with 1001
    (HTTP 422) naming `input.cert_class`."""
    client = world.inst_a.client
    ans = send(client, client.envelope("8101", {
        "terminal_id": f"CKT{world.tag}II", "model": "CK-FaceBox-II", "serial_no": f"CK{world.tag}II",
        "cert_class": "II", "cert_spec": "NHSA-TERMINAL-V2.1", "certification_id": f"NHSA-CK-{world.tag}II",
    }))
    expect_error(ans, 1001, field="input.cert_class")
