"""Web sign-in (SPEC §12): a token exchanged for an HttpOnly, SameSite=Strict cookie.

The cookie carries a random secret, never the token; the database keeps only its SHA-256.
A session ends when it is signed out, after 12 idle hours, or with the token it was opened
with (revoked or expired). Requests authenticated by the cookie that change something must
carry ``x-chatgate-csrf: 1`` (a header a cross-site form cannot send).
"""
