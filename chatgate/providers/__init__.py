"""Provider configs (SPEC §3): several per family, each with its own key policy and keys.

Rules live in ``service`` and run inside one write transaction; SQL lives in
``chatgate.store.providers``. Precedence and key facts come from ``chatgate.resolve`` only,
so ``has_api_key``/``has_effective_api_key`` are never derived from a sibling config.
Every transaction that changes a provider config locks its row first (§2).
"""
