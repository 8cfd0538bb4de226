"""Walking the client's chat-completions ``messages``, for the families that translate
them (anthropic, google).

These helpers validate the OpenAI side and say where a problem is (``messages[2]...``);
what each turn becomes stays in the family's module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal, NamedTuple

from chatgate.upstream.adapters.base import text_of, tool_call_arguments
from chatgate.upstream.errors import UnsupportedParameter


class ChatMessage(NamedTuple):
    where: str
    role: Literal["user", "assistant", "tool"]
    content: Any
    message: Mapping[str, Any]


def chat_messages(body: Mapping[str, Any], system: list[str]) -> Iterator[ChatMessage]:
    """The user, assistant and tool messages of ``body``, in order. The non-empty texts of
    system and developer messages are appended to ``system`` instead; any other role is
    rejected. Lazy, so the first problem in message order is the one reported."""
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list):
        raise UnsupportedParameter("messages", "must be a list")
    for index, message in enumerate(raw_messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise UnsupportedParameter(where, "must be an object")
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            text = text_of(content, where)
            if text:
                system.append(text)
        elif role in ("user", "assistant", "tool"):
            yield ChatMessage(where, role, content, message)
        else:
            raise UnsupportedParameter(f"{where}.role", f"role {role!r} is not supported")


def merge_turn(turns: list[dict[str, Any]], role: str, items: list[Any], *, key: str) -> None:
    """Append a ``{"role": role, key: items}`` turn, or extend the last turn when it has the
    same role, so consecutive turns of one role become one."""
    if turns and turns[-1]["role"] == role:
        turns[-1][key].extend(items)
    else:
        turns.append({"role": role, key: items})


def assistant_tool_calls(
    message: Mapping[str, Any], where: str
) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, name, parsed arguments) of each of an assistant message's ``tool_calls``."""
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise UnsupportedParameter(f"{where}.tool_calls", "must be a list")
    parsed: list[tuple[str, str, dict[str, Any]]] = []
    for call_index, call in enumerate(calls):
        call_where = f"{where}.tool_calls[{call_index}]"
        if not isinstance(call, dict):
            raise UnsupportedParameter(call_where, "must be an object")
        parsed.append(tool_call_arguments(call, call_where))
    return parsed


class UserPart(NamedTuple):
    kind: Literal["text", "image_url"]
    value: str  # the text, or the image's URL
    where: str  # where a problem with the image URL is reported


def user_parts(content: Any, where: str) -> Iterator[UserPart]:
    """The text and image parts of a user message's ``content`` (a string is one text
    part); other part types are rejected."""
    if isinstance(content, str):
        yield UserPart("text", content, where)
        return
    if not isinstance(content, list):
        raise UnsupportedParameter(f"{where}.content", "must be a string or a list of parts")
    for index, part in enumerate(content):
        part_where = f"{where}.content[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            yield UserPart("text", part["text"], part_where)
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise UnsupportedParameter(f"{part_where}.image_url", "needs a url")
            yield UserPart("image_url", url, f"{part_where}.image_url")
        else:
            raise UnsupportedParameter(part_where, f"part type {kind!r} is not supported")
