"""``chatgate``: serve, migrate, the commands that work on the database directly, and the
commands over a running server (``chatgate.cli.server_commands``, built on the SDK).

Exit codes: 0 ok, 1 server or unexpected error, 2 usage error, 3 not found, 4 conflict;
``config plan`` 5 when there are changes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine
from importlib.metadata import version as package_version
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from chatgate.cli.output import (
    EXIT_CONFLICT,
    EXIT_ERROR,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    emit,
    fail,
    use_json,
)
from chatgate.cli.remote import JsonOption
from chatgate.cli.server_commands import activity as server_activity
from chatgate.cli.server_commands import config as server_config
from chatgate.cli.server_commands import models as server_models
from chatgate.cli.server_commands import providers as server_providers
from chatgate.cli.server_commands import users as server_users

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from chatgate.chats import retention
    from chatgate.crypto import KeyRing
    from chatgate.db.engine import Database
    from chatgate.encryption import registry
    from chatgate.settings import Settings

# The commands below that work on the database import the server's modules when they run:
# the commands over a server (chatgate.cli.server_commands) should not pay for loading the
# database layer and the web framework.

T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)

app = typer.Typer(
    rich_markup_mode=None,
    help="chatgate: a self-hosted gateway to large language models.",
    no_args_is_help=True,
)
db_app = typer.Typer(rich_markup_mode=None, help="Database maintenance.", no_args_is_help=True)
users_app = typer.Typer(
    rich_markup_mode=None,
    help="Users: `create` works on the database directly, the rest talk to a server.",
    no_args_is_help=True,
)
tokens_app = typer.Typer(
    rich_markup_mode=None,
    help="API tokens: `create` works on the database directly, the rest talk to a server.",
    no_args_is_help=True,
)
keys_app = typer.Typer(
    rich_markup_mode=None, help="Encryption keys for secrets at rest.", no_args_is_help=True
)
chats_app = typer.Typer(
    rich_markup_mode=None, help="Chats (works on the database directly).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(keys_app, name="keys")
app.add_typer(chats_app, name="chats")
# Commands over a running server (chatgate.client).
app.add_typer(server_providers.app, name="providers")
app.add_typer(server_models.app, name="models")
app.add_typer(server_config.app, name="config")
server_users.register(users_app, tokens_app)
server_activity.register(app)

# In-flight requests (streams included) get this long to finish after a stop signal.
GRACEFUL_SHUTDOWN_S = 30


def _version(show: bool) -> None:
    if show:
        typer.echo(f"chatgate {package_version('chatgate')}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _global(
    json_output: JsonOption = False,
    _version_flag: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    use_json(json_output)


_fail = fail
_emit = emit


def _body(model: type[B], **values: Any) -> B:
    """Validate command input with the API's own schema: what the API refuses with a 422,
    the CLI refuses as a usage error naming the option."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "input"
        _fail(f"{field}: {first['msg']}", EXIT_USAGE)
    raise AssertionError("unreachable")  # pragma: no cover


def _settings() -> Settings:
    """The environment's settings, or exit 2 with one line naming the variable — before
    anything touches the database."""
    from chatgate.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as error:
        _fail(str(error), EXIT_USAGE)
    raise AssertionError("unreachable")  # pragma: no cover


def _run(coro: Coroutine[Any, Any, T]) -> T:
    from sqlalchemy.exc import SQLAlchemyError

    from chatgate.crypto import KeyRingError
    from chatgate.errors import ApiError
    from chatgate.startup import StartupError

    try:
        return asyncio.run(coro)
    except (StartupError, KeyRingError) as error:
        _fail(str(error), EXIT_ERROR)
    except ApiError as error:
        code = {404: EXIT_NOT_FOUND, 409: EXIT_CONFLICT}.get(error.status, EXIT_USAGE)
        _fail(error.message, code)
    except (OSError, SQLAlchemyError) as error:
        # Unreachable database and the like: one line, not a traceback. The driver's
        # message names host and database, never the password.
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        _fail(f"database error: {reason[0] if reason else type(error).__name__}", EXIT_ERROR)
    raise AssertionError("unreachable")  # pragma: no cover


async def _with_db(work: Callable[[Database], Awaitable[T]]) -> T:
    from chatgate.db import migrate
    from chatgate.db.engine import Database
    from chatgate.startup import load_keyring

    settings = _settings()
    load_keyring(settings)  # the key file must exist before anything is written
    await migrate.upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        return await work(db)
    finally:
        await db.dispose()


@app.command()
def serve(
    no_migrate: bool = typer.Option(False, "--no-migrate", help="Do not apply pending migrations."),
    workers: str | None = typer.Option(
        None,
        "--workers",
        help="Server processes on one address: a number or auto (one per core); "
        "default CHATGATE_WORKERS, else 1.",
    ),
) -> None:
    """Run the server (applies pending migrations first, under a lock)."""
    from chatgate.logs import configure_logging
    from chatgate.serving import stop_signals_end_normally
    from chatgate.settings import parse_workers

    settings = _settings()
    if workers is not None:
        try:
            parse_workers(workers)
        except ValueError as error:
            _fail(f"--workers: {error}", EXIT_USAGE)
        settings = settings.model_copy(update={"workers": workers})
    configure_logging(settings.log_level, settings.log_format)
    _announce_data_location(settings)
    token = _run(_prepare_database(settings, run_migrations=not no_migrate))
    if token is not None and settings.bootstrap_token is None:
        typer.echo("Created the owner 'admin'. Its token (shown once, keep it safe):")
        typer.echo(f"    {token}")
    elif token is not None:
        typer.echo("Created the owner 'admin' with the token from CHATGATE_BOOTSTRAP_TOKEN.")
    stop_signals_end_normally()
    if not _serve(settings):
        raise typer.Exit(EXIT_ERROR)


async def _prepare_database(settings: Settings, *, run_migrations: bool) -> str | None:
    """Migrations, key registry and the first owner, once for every worker; the engine is
    disposed of before serving (its connections belong to this short-lived event loop)."""
    from chatgate.startup import build_runtime

    runtime, token = await build_runtime(settings, run_migrations=run_migrations)
    await runtime.db.dispose()
    return token


def _serve(settings: Settings) -> bool:
    """Serve until stopped; False when the server could not start (uvicorn logged why)."""
    import uvicorn

    from chatgate.serving import ServedApp

    host, port = settings.listen_host_port
    count = settings.worker_count
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,  # chatgate.logs formats uvicorn's records like every other
        "log_level": "warning",
        "access_log": False,  # chatgate writes its own access line (api.middleware)
        "http": "httptools",
        "lifespan": "on",
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
    }
    if count == 1:
        server = _announcing_server_class()(uvicorn.Config(ServedApp(settings), **options))
        with contextlib.suppress(SystemExit):  # uvicorn's own exit on a failed start
            server.run()
        return bool(server.started)
    # Each worker is a new interpreter: it finds its app by name and reads the same
    # environment (already validated here).
    config = uvicorn.Config("chatgate.serving:worker_app", factory=True, workers=count, **options)
    sock = config.bind_socket()
    sock.listen(config.backlog)  # connections wait in the queue until a worker accepts
    supervisor = _announcing_supervisor_class()(config, sockets=[sock])
    supervisor.run()
    # A worker that failed to start stops them all (uvicorn): that is a failed start.
    return supervisor.announced and not any(
        process.process.exitcode == STARTUP_FAILURE for process in supervisor.processes
    )


# uvicorn's exit code for a worker whose start failed.
STARTUP_FAILURE = 3
WORKERS_READY_DEADLINE_S = 60.0


def _announcing_supervisor_class() -> type[Any]:
    from uvicorn.supervisors import Multiprocess

    class AnnouncingSupervisor(Multiprocess):
        """Says where it listens once every worker has started."""

        announced = False

        def init_processes(self) -> None:
            super().init_processes()
            ready = all(
                process.wait_until_ready(WORKERS_READY_DEADLINE_S, self.should_exit)
                for process in self.processes
            )
            if ready:
                self.announced = True
                _announce_listening(self.sockets[0], f" ({len(self.processes)} workers)")

    return AnnouncingSupervisor


def _announce_data_location(settings: Settings) -> None:
    location = settings.data_location()
    line = f"chatgate data: {location.description}"
    key_file = settings.key_file_path()
    if settings.encryption_keys:
        line += " (encryption keys from CHATGATE_ENCRYPTION_KEYS)"
    elif key_file is not None:
        line += f" (encryption key file {key_file.resolve()})"
    typer.echo(line)


def _announcing_server_class() -> type[Any]:
    import uvicorn

    class AnnouncingServer(uvicorn.Server):
        """Says where it listens once the socket is bound (with the real port for ``:0``)."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.started:
                return
            for server in self.servers:
                for sock in server.sockets:
                    _announce_listening(sock)

    return AnnouncingServer


def _announce_listening(sock: socket.socket, suffix: str = "") -> None:
    """Where the server listens, with the real port when ``:0`` was asked for."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"chatgate listening on http://{shown}:{port}{suffix}")


@db_app.command("upgrade")
def db_upgrade(json_output: JsonOption = False) -> None:
    """Apply pending migrations and exit."""
    from chatgate.db import migrate

    use_json(json_output)
    settings = _settings()
    _run(migrate.upgrade(settings.database_url))
    _emit(f"database at revision {migrate.head_revision()}", {"revision": migrate.head_revision()})


@users_app.command("create")
def users_create(
    username: str,
    role: str = typer.Option(
        "member", "--role", help="owner (first user only), admin, auditor or member"
    ),
    display_name: str = typer.Option("", "--display-name"),
    json_output: JsonOption = False,
) -> None:
    """Create a user. The first user created becomes the owner."""
    from chatgate.authz import Actor, is_role_name
    from chatgate.users import service as user_service
    from chatgate.users.schemas import UserCreate

    use_json(json_output)
    if not is_role_name(role):
        _fail("--role must be one of owner, admin, auditor, member", EXIT_USAGE)
    body = _body(UserCreate, username=username, role=role, display_name=display_name)

    async def work(db: Database) -> dict[str, Any]:
        async def tx(session: AsyncSession) -> dict[str, Any]:
            user = await user_service.create_user(session, Actor.system("cli"), body)
            return {"id": str(user.id), "username": user.username, "role": user.role}

        return await db.write(tx)

    user = _run(_with_db(work))
    _emit(f"created {user['username']} ({user['role']}) {user['id']}", user)


@tokens_app.command("create")
def tokens_create(
    username: str,
    name: str = typer.Option("cli", "--name"),
    expires_in_days: int | None = typer.Option(None, "--expires-in-days", min=1, max=3650),
    json_output: JsonOption = False,
) -> None:
    """Create a token for USERNAME and print it (shown once)."""
    from chatgate.authz import Actor
    from chatgate.errors import ApiError
    from chatgate.store import users as user_store
    from chatgate.users import service as user_service
    from chatgate.users.schemas import TokenCreate

    use_json(json_output)
    body = _body(TokenCreate, name=name, expires_in_days=expires_in_days)

    async def work(db: Database) -> dict[str, Any]:
        async def tx(session: AsyncSession) -> dict[str, Any]:
            user = await user_store.get_user_by_username(session, username.strip().lower())
            if user is None:
                raise ApiError(404, "not_found", f"user {username!r} not found")
            row, token = await user_service.mint_token(
                session, Actor.system("cli"), user, body.name, body.expires_in_days
            )
            return {
                "id": str(row.id),
                "name": row.name,
                "token": token,
                "expires_at": row.expires_at,
            }

        return await db.write(tx)

    token = _run(_with_db(work))
    _emit(token["token"], token)


@keys_app.command("status")
def keys_status(json_output: JsonOption = False) -> None:
    """Count sealed secrets per encryption-key digest."""
    from chatgate.encryption import registry

    use_json(json_output)

    async def work(db: Database) -> dict[str, Any]:
        async def tx(session: AsyncSession) -> dict[str, Any]:
            return {
                "states": await registry.digest_states(session),
                "secrets": await registry.secrets_per_digest(session),
            }

        return await db.read(tx)

    keyring = _keyring(_settings())
    status = _run(_with_db(work))
    rows = []
    for digest in sorted(set(status["states"]) | set(status["secrets"])):
        rows.append(
            {
                "digest": digest,
                "state": status["states"].get(digest, "unknown"),
                "secrets": status["secrets"].get(digest, 0),
                "primary": digest == keyring.primary_digest,
                "configured": keyring.has(digest),
            }
        )
    human = "\n".join(
        f"{r['digest']}  {r['state']:8}  secrets={r['secrets']:<6} "
        f"{'primary ' if r['primary'] else ''}{'configured' if r['configured'] else 'NOT CONFIGURED'}"
        for r in rows
    )
    _emit(human or "no encryption keys registered", {"keys": rows})


def _keyring(settings: Settings) -> KeyRing:
    from chatgate.startup import StartupError, load_keyring

    try:
        return load_keyring(settings)
    except StartupError as error:
        _fail(str(error), EXIT_ERROR)
    raise AssertionError("unreachable")  # pragma: no cover


@keys_app.command("generate")
def keys_generate(json_output: JsonOption = False) -> None:
    """Print a new random encryption key (base64, 32 bytes) for CHATGATE_ENCRYPTION_KEYS."""
    from chatgate.crypto.keyring import key_digest

    use_json(json_output)
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    _emit(key, {"key": key, "digest": key_digest(base64.b64decode(key))})


@keys_app.command("rotate")
def keys_rotate(json_output: JsonOption = False) -> None:
    """Re-seal every secret with the primary key and revoke every other digest (online)."""
    from chatgate.encryption import registry

    use_json(json_output)
    settings = _settings()

    keyring = _keyring(settings)

    async def work(db: Database) -> registry.RotationResult:
        total = sum((await db.read(registry.secrets_per_digest)).values())
        with typer.progressbar(length=total, label="re-sealing", file=sys.stderr) as bar:
            return await registry.rotate(db, keyring, progress=bar.update)

    result = _run(_with_db(work))
    human = (
        f"re-sealed {result.resealed} secret(s) with the primary key {keyring.primary_digest}; "
        "other keys revoked"
    )
    if result.undecryptable:
        human += (
            f"\nwarning: {result.undecryptable} secret(s) are under a key that is not configured "
            "(key_undecryptable) and were left as they are"
        )
    _emit(
        human,
        {
            "resealed": result.resealed,
            "undecryptable": result.undecryptable,
            "primary": keyring.primary_digest,
        },
    )


@chats_app.command("purge")
def chats_purge(json_output: JsonOption = False) -> None:
    """Delete archived chats older than the retention window now (one pass, audited)."""
    from chatgate.authz import Actor
    from chatgate.chats import retention
    from chatgate.ids import utcnow

    use_json(json_output)

    async def work(db: Database) -> retention.PurgeResult:
        now = utcnow()
        total = await retention.purgeable(db, now)
        with typer.progressbar(length=total, label="purging", file=sys.stderr) as bar:
            return await retention.purge(db, Actor.system("cli"), now=now, progress=bar.update)

    result = _run(_with_db(work))
    if result.cutoff is None:
        human = "chat retention is 0 days (never purge): nothing deleted"
    elif result.skipped_busy:
        human = f"deleted {result.deleted} archived chat(s); another process is purging"
    else:
        human = (
            f"deleted {result.deleted} archived chat(s) not updated for "
            f"{result.retention_days} day(s)"
        )
    _emit(
        human,
        {
            "deleted": result.deleted,
            "retention_days": result.retention_days,
            "cutoff": result.cutoff,
            "skipped_busy": result.skipped_busy,
        },
    )


def main() -> None:
    app()
