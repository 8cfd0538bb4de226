"""Model configs (SPEC §4): binding to provider configs, names, options, the one default.

Rules live in ``service`` (one write transaction, under ``store.models.lock_model_configs``);
the default rule is ``cascade.defaults.choose_default``, applied only by
``cascade.models.ensure_default`` (shared with the provider-delete cascade).
"""
