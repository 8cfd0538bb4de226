from tests.support.providers import api, pg_api

__all__ = ["api", "pg_api"]
