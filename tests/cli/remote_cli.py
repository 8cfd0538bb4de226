"""``chatgate`` run as the installed command against a live server, as a user runs it:
``CHATGATE_URL`` and ``CHATGATE_TOKEN`` in the environment."""

from __future__ import annotations

from tests.support.helpers import CliResult, Env, cli_environ, run_chatgate


class Cli:
    """The command with one token; every output is checked for that token."""

    def __init__(self, env: Env, live: str, token: str, **extra: str) -> None:
        self.token = token
        self.environ = cli_environ(
            env.runtime.settings.database_url, CHATGATE_URL=live, CHATGATE_TOKEN=token, **extra
        )

    async def __call__(self, *args: str) -> CliResult:
        result = await run_chatgate(*args, environ=self.environ)
        assert self.token not in result.stdout + result.stderr
        return result
