"""A run: the plan (values), the engine that carries it out, verify and rollback."""
