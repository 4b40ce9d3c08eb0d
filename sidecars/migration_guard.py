"""Refuses to migrate, or to run, an Airflow older than the one that last migrated the database.

Runs first in the control service's migration script (components/celery.ts, migrateScript: the
program passes this file's source to ``python -c``), so also in ``npm run local``. ``airflow db
migrate`` of an older Airflow against a database a newer Airflow migrated fails deep in Alembic with a
stack trace ("Can't locate revision ..."), after the deployment has already started the old image.
This check reads the database's Alembic revision and stops with one line if this Airflow's migration
scripts do not know it: the only ways back are the newer Airflow's own ``airflow db downgrade
--to-version <old>`` or restoring the database from the snapshot taken before the upgrade (README,
"Upgrading Airflow").

Exit 0: the database is new, at this Airflow's head, or older (``airflow db migrate`` upgrades it).
Exit 3: the database is newer than this Airflow; nothing was changed.
"""

import os
import sys

import airflow
from airflow.configuration import conf
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine, inspect, text


def database_revisions(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return []
            return [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


def main() -> int:
    config = Config()
    config.set_main_option("script_location", os.path.join(os.path.dirname(airflow.__file__), "migrations"))
    scripts = ScriptDirectory.from_config(config)
    for revision in database_revisions(conf.get("database", "sql_alchemy_conn")):
        try:
            known = scripts.get_revision(revision) is not None
        except CommandError:
            known = False
        if not known:
            print(
                f"error: refusing to start Airflow {airflow.__version__}: the metadata database is at migration "
                f"{revision}, which this Airflow does not know, so a newer Airflow migrated it. Run that "
                "newer version, or downgrade the database with it first (airflow db downgrade --to-version "
                f"{airflow.__version__}), or restore the snapshot taken before the upgrade. Nothing was changed.",
                file=sys.stderr,
            )
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
