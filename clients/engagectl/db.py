from __future__ import annotations

import typer

from clients.engagectl.output import emit_json, json_wanted

app = typer.Typer(no_args_is_help=True, help="The database schema.")


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", metavar="REVISION", help="An Alembic revision.")) -> None:
    """Applies the Alembic migrations to DATABASE_URL (or the SQLite file under var/).

    Examples:
      engagectl db upgrade
      DATABASE_URL=postgresql+asyncpg://engage@db/engage engagectl db upgrade
    """
    # alembic and the settings are slow to import: only when used.
    from server.config import Settings
    from server.store.migrate import upgrade as run_upgrade

    settings = Settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url()
    run_upgrade(url, revision)
    where = url.split("@")[-1]  # the credentials stay out of the output
    if json_wanted():
        emit_json({"revision": revision, "database": where})
    else:
        print(f"database upgraded to {revision}: {where}")
