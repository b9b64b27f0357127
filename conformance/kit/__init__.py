"""The conformance kit's tests: one rule per file, each citing its requirement IDs.

    test_envelope_*     the message envelope (报文结构): validation and error codes
    test_security_*     signing, replay, roles and data scope, certified devices, access audit
    test_idempotency_*  msgid retries: one effect, the same answer
    test_registry_*     insured persons (ID numbers)
    test_devices_*      terminals: class III only, heartbeats, fault reports
    test_face_*         face enrolment and 1:1 verification

Run them with `scenemon conformance`, never with the project's own pytest run.
"""
