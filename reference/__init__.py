"""The reference server: gateway, scenes, services, rules, face core and storage.

Layout (one module per concept):

- `config`     — the one settings class (`Settings`), read from `SCENEMON_*` variables.
- `clock`      — the injectable business clock every time-based rule reads.
- `errors`     — the error hierarchy and the envelope's error-code table.
- `envelope`   — request/response envelope models (national platform conventions).
- `signing`    — the normative request-signing algorithm (HMAC-SHA256).
- `store`      — SQLite (+ sqlite-vec) storage, migrations, the connection policy.
- `transactions` — the registry of transactions (infno → models, roles, handler).
- `api`        — the FastAPI app and the gateway, the only way in over HTTP.
- `scenes`     — thin transaction handlers, one module per scene.
- `services`   — domain operations as plain functions.
- `face`       — face templates, engines (insightface, dlib), 1:1 verification.
"""
