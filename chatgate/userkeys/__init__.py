"""A user's own keys for provider configs (bring your own key; SPEC §6, §7, §13).

Rules:
- Users manage only their own keys; no endpoint returns another user's key, or any key
  text at all (a hint of the last 4 characters of keys of 16+ characters at most, and only
  to the key's owner).
- Storing a key locks its provider config ``FOR SHARE`` on PostgreSQL before validating
  (SQLite: the write transaction is ``BEGIN IMMEDIATE``), so a concurrent disable, policy
  change or delete cannot slip in between the check and the write.
- Keys are sealed with associated data bound to (user, config); every change is audited in
  the same transaction, secrets redacted.
"""
