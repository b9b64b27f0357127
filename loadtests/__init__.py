"""Load tests (Locust) and benchmarks against the reference server. Everything binds 127.0.0.1."""
