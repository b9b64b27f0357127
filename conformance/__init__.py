"""The scenemon conformance kit: tests any implementation of the institution interface over HTTP.

Vendors run it with `scenemon conformance --base-url URL ...` (or `--preset local
--start-reference` to try it against the reference server). Each kit test states one rule in
plain words and cites the requirement IDs (GEN-1, GEN-5, DEV-3, ...) it verifies; the run
writes a JUnit XML file and a JSON report with a per-requirement summary.

    runner.py        the command line: flags and presets → settings → pytest → reports
    plugin.py        the pytest plugin: the `req` marker, fixtures (config, bureau, world), report
    presets/*.yaml   named presets (`--preset local` is the local reference server)
    kit/test_*.py    the kit's tests, one rule per file; kit/support.py holds their helpers

The kit speaks only HTTP, using `device_mocks` (the signed client), `reference.signing` (the
normative signing algorithm), `reference.face.synthetic` (synthetic embeddings) and
`reference.idcard.make_certno` (valid ID numbers). Only `--start-reference` imports the
reference server itself.
"""
