"""The encryption-key registry over the database (SPEC §7): which data-key digests exist,
start-up checks, status counts and rotation.

``crypto/`` holds the primitives and knows no database; this package joins them to the
store. It writes no SQL itself (``chatgate.store.encryption_keys`` does).
"""
