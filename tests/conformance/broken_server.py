"""A deliberately broken reference server that accepts any signature (for the kit's own tests).

    python tests/conformance/broken_server.py PORT

Settings come from SCENEMON_* variables, as for `scenemon serve`. Everything else behaves
like the reference server, so a conformance kit run against it must fail exactly the tests
that check signatures (2002).
"""

from __future__ import annotations

import sys


def main(port: int) -> None:
    from reference import signing

    # The defect: the gateway looks `signing.verify` up at call time, so every HMAC "matches".
    signing.verify = lambda *args, **kwargs: True

    from reference.config import Settings
    from reference.server import serve

    serve(Settings(), port=port, log_level="warning")


if __name__ == "__main__":
    main(int(sys.argv[1]))
