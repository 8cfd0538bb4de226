"""The caller's model catalog, ``GET /api/v1/me/models`` (SPEC §6, §14).

Loads rows, builds facts with ``chatgate.resolve_io`` and asks the pure resolver; it
decides nothing itself. Members see only the enabled models §6 makes visible to them and
never a provider row; admins and auditors see every live model, disabled ones included,
plus ``enabled``. Availability is always computed for the caller (their own user keys).
"""
