"""The frozen chain 0001–0019 (one linear history, before each domain owned its
migrations): brings a store stamped older than 0019 up to 0019, where the per-domain
branches take over (docs/architecture.md, "Migrations"). Never changes again."""

from alembic import context
from sqlalchemy import MetaData

# The constraint names the chain was written with (citynet.db.NAMING as of 0019): Alembic
# names the constraints of op.create_table and finds them in batch mode by this
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=MetaData(naming_convention=NAMING),
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
