"""The ``kontor`` command."""

from __future__ import annotations

import dataclasses
import logging
import os
import time

import typer

from kontor import __version__, bootstrap
from kontor.config import Settings, load

# How long a stopping server waits for open requests (event streams) before closing them.
SHUTDOWN_GRACE_S = 3

app = typer.Typer(
    help="kontor: a double-entry core-banking ledger with a Midaz-compatible API.",
    no_args_is_help=True,
    add_completion=False,
)


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def serve() -> None:
    """Start the API (embedded PostgreSQL unless DATABASE_URL is set). Ctrl-C stops both."""
    import uvicorn

    started = time.perf_counter()
    settings = _settings()
    _logging(settings.log_level)
    database = bootstrap.resolve_database(settings)
    try:
        applied = bootstrap.apply_migrations(database.url)
        os.environ["DATABASE_URL"] = database.url
        where = "embedded PostgreSQL in " + str(settings.data_dir) if database.server else "DATABASE_URL"
        base = f"http://{settings.host}:{settings.port}"
        typer.echo(f"kontor {__version__} on {where} ({applied} migrations applied)")
        typer.echo(f"  API:  {base}/v1")
        typer.echo(f"  docs: {base}/v1/docs  (OpenAPI: {base}/v1/openapi.json)")
        logging.getLogger("kontor").info("start-up before serving took %.0f ms", (time.perf_counter() - started) * 1000)
        uvicorn.run(
            "kontor.api.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            access_log=False,
            loop="uvloop",
            http="httptools",
            # Event streams (SSE) never end on their own: on shutdown they are cut after this.
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
    finally:
        database.stop()


@app.command("migrate")
def migrate_cmd() -> None:
    """Apply pending schema migrations and exit."""
    settings = load()
    _logging(settings.log_level)
    database = bootstrap.resolve_database(settings)
    try:
        typer.echo(f"{bootstrap.apply_migrations(database.url)} migrations applied")
    finally:
        database.stop()


@app.command()
def verify() -> None:
    """Recompute every balance from its operations and check each ledger's journal chain.

    Exits non-zero on any discrepancy.
    """
    import asyncio

    from kontor.service.verify import verify as run_verify

    settings = load()
    _logging("warning")
    database = bootstrap.resolve_database(settings)
    try:
        report = asyncio.run(run_verify(database.url, typer.echo))
    finally:
        database.stop()
    typer.echo(f"{len(report.passed)} checks passed, {len(report.failures)} failed")
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def relay() -> None:
    """Deliver the journal's events to the configured sinks, without serving HTTP.

    Run it beside servers started with KONTOR_EVENTS_RELAY=false; several relays may run, and
    each sink is relayed by one of them at a time. Ctrl-C or SIGTERM stops it.
    """
    import asyncio
    import signal

    from kontor.events.runtime import run_relay

    settings = _settings()
    _logging(settings.log_level)
    database = bootstrap.resolve_database(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_relay(settings, database.url, stop)

    try:
        bootstrap.apply_migrations(database.url)
        typer.echo(
            f"kontor {__version__} relaying events from {'DATABASE_URL' if not database.server else 'embedded PostgreSQL'}"
        )
        asyncio.run(main())
    finally:
        database.stop()


@app.command()
def config() -> None:
    """Print the effective settings."""
    for field in dataclasses.fields(load()):
        typer.echo(f"{field.name} = {getattr(load(), field.name)!r}")


if __name__ == "__main__":
    app()


def _settings() -> Settings:
    """The settings, refused at once (exit status 1, the reason on stderr) if the relay could not run with them."""
    from kontor.events import runtime

    settings = load()
    try:
        runtime.check(settings)
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    return settings
