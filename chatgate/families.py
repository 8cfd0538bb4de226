"""Provider families (SPEC §1): their fixed order, display names and default base URLs.

The order of ``FAMILIES`` is the order families are listed everywhere.
"""

from __future__ import annotations

from typing import Final

FAMILIES: Final[tuple[str, ...]] = (
    "anthropic",
    "azure",
    "bedrock",
    "google",
    "openai",
    "openai-compat",
    "openrouter",
    "vercel",
)

FAMILY_ORDER: Final[dict[str, int]] = {family: index for index, family in enumerate(FAMILIES)}

DISPLAY_NAMES: Final[dict[str, str]] = {
    "anthropic": "Anthropic",
    "azure": "Azure OpenAI",
    "bedrock": "Amazon Bedrock",
    "google": "Google Gemini",
    "openai": "OpenAI",
    "openai-compat": "OpenAI-compatible",
    "openrouter": "OpenRouter",
    "vercel": "Vercel AI Gateway",
}

# Built-in default base URLs; azure, openai-compat and bedrock have none (SPEC §1).
BUILTIN_BASE_URLS: Final[dict[str, str]] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "google": "https://generativelanguage.googleapis.com",
    "openrouter": "https://openrouter.ai/api/v1",
    "vercel": "https://ai-gateway.vercel.sh/v1",
}

# Families the gateway cannot serve yet (SPEC §9).
UNSUPPORTED_FAMILIES: Final[frozenset[str]] = frozenset({"bedrock"})


def normalize_family(raw: str) -> str | None:
    """Trim and lower-case; ``None`` when the result is not a known family."""
    family = raw.strip().lower()
    return family if family in FAMILY_ORDER else None


def env_suffix(family: str) -> str:
    """``openai-compat`` → ``OPENAI_COMPAT`` (for CHATGATE_<FAMILY>_API_KEY / _BASE_URL)."""
    return family.upper().replace("-", "_")
