"""The audit log (SPEC §2): one row per state change, in the same transaction, secrets redacted."""
