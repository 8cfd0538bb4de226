"""The ``chatgate`` command (SPEC §12)."""
