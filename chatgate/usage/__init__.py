"""Usage recording (SPEC §2, §15): one row per upstream attempt, written off the request path."""
