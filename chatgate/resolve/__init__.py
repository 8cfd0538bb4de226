"""Pure key resolution: which provider config and which key serve a model (SPEC §3 to §6).

No I/O, no database, no framework: the gateway feeds it from its snapshot, the HTTP API
from database rows, and both get the same answers. Functions return new values and never
mutate their inputs.

Rules:
- Precedence inside a family is ``(created_at, id)`` ascending: ``by_precedence``, used by
  every caller.
- A config's central key is none when central keys are disabled; else its pool when it has
  an enabled stored key (never the deployment key then, even with the pool exhausted);
  else the family's deployment key only when the config's base_url is empty (the family
  default, the only URL a deployment key is sent to). Nothing is derived from a sibling.
- Per config and user (§5 table): disabled → ``provider_disabled``; user keys allowed and
  the user has one → ``user``; a central key and (no user keys or fallback allowed) →
  ``central``/``deployment``; user keys allowed → ``user_api_key_required``; else
  ``missing_api_key``.
- Candidates: disabled model → ``model_disabled``; bedrock → ``family_not_supported``;
  bound → that config only (disabled → ``provider_disabled``, gone → ``missing_api_key``,
  never a sibling); unbound in openai-compat, or in a family without configs → the
  deployment key alone; unbound in a family whose configs are all disabled →
  ``provider_disabled``; otherwise the enabled configs in precedence order.
- The first available candidate fixes the key-source class: a user key makes exactly one
  attempt; a shared (central/deployment) key fails over to later shared-key configs only.
  With no candidate the reason is ``provider_disabled``, else ``user_api_key_required`` if
  any config says so, else ``missing_api_key``.
"""

from chatgate.resolve.candidates import Candidate, Resolution, resolve
from chatgate.resolve.facts import (
    DEPLOYMENT_ONLY_UNBOUND_FAMILIES,
    CentralKeySource,
    FamilyFacts,
    HasPrecedence,
    KeySource,
    KeySourceClass,
    KeyUnavailableReason,
    ModelFacts,
    ProviderFacts,
    UnavailableReason,
    by_precedence,
    precedence_key,
)
from chatgate.resolve.keys import (
    KeyChoice,
    central_key_missing,
    central_key_source,
    depends_on_pool,
    has_api_key,
    has_effective_api_key,
    key_source_class,
    resolve_key,
)
from chatgate.resolve.visibility import model_visible_to_member, provider_visible_to_users

__all__ = [
    "DEPLOYMENT_ONLY_UNBOUND_FAMILIES",
    "Candidate",
    "CentralKeySource",
    "FamilyFacts",
    "HasPrecedence",
    "KeyChoice",
    "KeySource",
    "KeySourceClass",
    "KeyUnavailableReason",
    "ModelFacts",
    "ProviderFacts",
    "Resolution",
    "UnavailableReason",
    "by_precedence",
    "central_key_missing",
    "central_key_source",
    "depends_on_pool",
    "has_api_key",
    "has_effective_api_key",
    "key_source_class",
    "model_visible_to_member",
    "precedence_key",
    "provider_visible_to_users",
    "resolve",
    "resolve_key",
]
