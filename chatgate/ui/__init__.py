"""The web UI at ``/ui`` (SPEC §12): server-rendered pages over the same services and
permissions as the API, signed in by the session cookie.

Every response carries ``Content-Security-Policy: default-src 'self'``: no inline script or
style, nothing from another origin. Names admins typed and anything from upstream are
rendered by Jinja2 with autoescaping, so they show as text.
"""
