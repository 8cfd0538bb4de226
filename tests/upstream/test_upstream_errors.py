"""What upstream error text may reach a client (SPEC §9), and the family registry."""

from __future__ import annotations

import json

import pytest

from chatgate.families import FAMILIES
from chatgate.upstream import (
    FamilyNotSupported,
    UpstreamClient,
    adapter_for,
    extract_error_message,
)
from tests.support.fake_upstream import FakeUpstream
from tests.support.upstream import KEY, exchange, target_for, user_body


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "Invalid key", "type": "invalid_request_error"}},  # OpenAI
        {
            "type": "error",
            "error": {"type": "authentication_error", "message": "Invalid key"},
        },  # Anthropic
        {"error": {"code": 400, "message": "Invalid key", "status": "INVALID_ARGUMENT"}},  # Gemini
        [{"error": {"code": 400, "message": "Invalid key"}}],  # Gemini, list-wrapped
    ],
)
def test_error_message_is_taken_from_each_family_shape(body: object) -> None:
    assert extract_error_message(401, json.dumps(body).encode(), KEY) == "Invalid key"


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Bad Gateway</html>",
        b"",
        b'{"detail": "nope"}',
        b'{"error": "flat string"}',
        b'{"error": {"message": ""}}',
    ],
)
def test_anything_else_becomes_a_generic_message(body: bytes) -> None:
    assert extract_error_message(502, body, KEY) == "upstream returned HTTP 502"


def test_every_occurrence_of_the_key_is_redacted() -> None:
    body = json.dumps({"error": {"message": f"Incorrect API key {KEY}; you sent {KEY}."}}).encode()
    assert (
        extract_error_message(401, body, KEY)
        == "Incorrect API key <redacted>; you sent <redacted>."
    )


def test_message_is_capped_at_one_kib_after_redaction() -> None:
    # The key straddles the cap: redaction first means no fragment of it survives.
    body = json.dumps({"error": {"message": "é" * 500 + KEY + "x" * 2000}}).encode()
    message = extract_error_message(400, body, KEY)
    assert len(message.encode()) <= 1024
    assert KEY[:6] not in message
    assert message.startswith("é" * 500 + "<redacted>")


def test_empty_key_redacts_nothing() -> None:
    body = json.dumps({"error": {"message": "plain"}}).encode()
    assert extract_error_message(400, body, "") == "plain"


@pytest.mark.parametrize("family", ["openai", "anthropic", "google"])
async def test_upstream_error_round_trip(
    fake: FakeUpstream, client: UpstreamClient, family: str
) -> None:
    fake.script(status=401, error_message=f"bad key {KEY}")
    result = await exchange(client, target_for(fake, family), user_body())
    assert result.status == 401
    assert extract_error_message(result.status, result.body, KEY) == "bad key <redacted>"


def test_every_family_has_an_adapter_or_is_explicitly_unsupported() -> None:
    for family in FAMILIES:
        if family == "bedrock":
            with pytest.raises(FamilyNotSupported) as caught:
                adapter_for(family)
            assert caught.value.family == "bedrock"
        else:
            assert adapter_for(family).family == family


def test_unknown_family_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown provider family"):
        adapter_for("mistral")


def test_translate_response_refuses_error_statuses() -> None:
    with pytest.raises(ValueError, match="2xx"):
        adapter_for("anthropic").translate_response(500, b"{}", public_model="p")
