"""Alembic migrations of the ceasewatch store (see `ceasewatch.store.db.migrate`)."""
