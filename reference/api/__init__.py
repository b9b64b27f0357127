"""HTTP layer: the FastAPI app (`app`) and the gateway every transaction passes through."""
