"""What one domain's change does to another's rows: the provider-delete cascade (§3) and
the model default (§4). ``providers`` and ``models`` both call this package; it imports
neither, so they stay apart.
"""
