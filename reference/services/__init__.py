"""Domain operations as plain functions. They take an open `Db` and explicit times, never read
the wall clock, and raise `reference.errors` exceptions. Handlers and the simulator call them."""
