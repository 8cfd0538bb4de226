"""Per-family adapters behind one interface, and the registry that picks one.

Native Chat Completions families relay bodies and streams; ``anthropic`` and ``google``
translate (see their modules for the honoured / ignored / rejected request fields);
``bedrock`` has no adapter yet.
"""

from __future__ import annotations

from typing import Final

from chatgate.families import FAMILIES, UNSUPPORTED_FAMILIES
from chatgate.upstream.adapters.anthropic import AnthropicAdapter
from chatgate.upstream.adapters.base import (
    Adapter,
    StreamTranslator,
    Target,
    Usage,
    extract_error_message,
)
from chatgate.upstream.adapters.chat_completions import ChatCompletionsAdapter
from chatgate.upstream.adapters.google import GoogleAdapter
from chatgate.upstream.errors import FamilyNotSupported

_ADAPTERS: Final[dict[str, Adapter]] = {
    "openai": ChatCompletionsAdapter("openai"),
    "openai-compat": ChatCompletionsAdapter("openai-compat"),
    "openrouter": ChatCompletionsAdapter("openrouter"),
    "vercel": ChatCompletionsAdapter("vercel"),
    "azure": ChatCompletionsAdapter("azure", key_header="api-key", bearer=False),
    "anthropic": AnthropicAdapter(),
    "google": GoogleAdapter(),
}

# Every family is either served or explicitly unsupported; a new family fails here.
assert set(_ADAPTERS) | UNSUPPORTED_FAMILIES == set(FAMILIES)


def adapter_for(family: str) -> Adapter:
    """The stateless adapter of ``family``; :class:`FamilyNotSupported` for bedrock,
    ValueError for a string that is not a family at all."""
    adapter = _ADAPTERS.get(family)
    if adapter is not None:
        return adapter
    if family in UNSUPPORTED_FAMILIES:
        raise FamilyNotSupported(family)
    raise ValueError(f"unknown provider family {family!r}")


__all__ = [
    "Adapter",
    "StreamTranslator",
    "Target",
    "Usage",
    "adapter_for",
    "extract_error_message",
]
