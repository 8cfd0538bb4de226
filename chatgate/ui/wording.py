"""Plain words for what the API says in codes: what a provider config's three key-policy
switches mean together, and why a model is unavailable."""

from __future__ import annotations

POLICY_SENTENCES = {
    (True, False, False): "Members use the organisation's key; they cannot bring their own.",
    (True, True, True): "Members use the organisation's key; they may bring their own, "
    "which then wins.",
    (True, True, False): "Every member must bring their own key; the organisation's key "
    "serves nobody until the fallback is turned on.",
    (False, True, False): "Every member must bring their own key; the organisation has none.",
}


def key_policy_sentence(central: bool, user_keys: bool, fallback: bool) -> str:
    """The sentence for a valid combination (the database refuses the others)."""
    return POLICY_SENTENCES.get(
        (central, user_keys, fallback), "This combination of switches is not valid."
    )


# Every ``UnavailableReason`` of chatgate.resolve, said to the person looking at the page.
UNAVAILABLE_SENTENCES = {
    "model_disabled": "The model is disabled.",
    "provider_disabled": "Its provider config is disabled.",
    "user_api_key_required": "Needs the member's own key (My keys).",
    "missing_api_key": "No key to call the provider with.",
    "family_not_supported": "No provider config serves this family.",
}


def unavailable_sentence(reason: str | None) -> str:
    return UNAVAILABLE_SENTENCES.get(reason or "", "Not available.")
