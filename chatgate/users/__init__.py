"""Users and API tokens (SPEC §2, §13): roles, the owner's protection, token minting."""
