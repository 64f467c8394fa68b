"""Alembic environment: migrations run on the connection the store opened, never from a URL
of their own (so credentials stay where the user put them)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
