from tests.providers.support import api, pg_api

__all__ = ["api", "pg_api"]
