"""Alembic environment: runs against the engine the Store hands over (no alembic.ini);
the branches' folders come from citynet.migrate."""

from alembic import context

from citynet.schema import all_tables

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=all_tables(),
        render_as_batch=True,  # SQLite needs table rebuilds for most ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
