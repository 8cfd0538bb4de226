"""Shared test helpers: the app environment (``helpers``), per-domain builders
(``providers``, ``userkeys``, ``upstream``) and the real fake upstream servers
(``fake_upstream``). Test modules import from here, never from each other."""
