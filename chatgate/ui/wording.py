"""What a provider config's three key-policy switches mean together, in plain words."""

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
