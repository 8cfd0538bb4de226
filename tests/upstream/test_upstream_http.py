"""The shared HTTP client against a real local server: redirects, outbound safety,
timeouts, cancellation, body limits and connection reuse."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from chatgate.upstream import (
    HttpRequest,
    Target,
    Timeouts,
    UpstreamBodyTooLarge,
    UpstreamClient,
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamTimeout,
    retry_after_seconds,
)
from chatgate.upstream.netguard import AddressPolicy
from tests.support.fake_upstream import FakeUpstream
from tests.support.upstream import GENEROUS, KEY

# A bound so a regression fails the test instead of hanging it; never asserted on.
SAFETY_BOUND_S = 30


def post(url: str, body: bytes = b'{"model":"m","messages":[]}') -> HttpRequest:
    return HttpRequest(
        "POST", url, {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}, body
    )


def stream_post(fake: FakeUpstream) -> HttpRequest:
    return post(fake.url + "/v1/chat/completions", b'{"model":"m","messages":[],"stream":true}')


async def drain(
    client: UpstreamClient, request: HttpRequest, timeouts: Timeouts, received: list[bytes]
) -> None:
    """Read a response body chunk by chunk into ``received``."""
    async with client.send(request, timeouts) as response:
        async for chunk in response.iter_chunks():
            received.append(chunk)


async def test_request_arrives_with_method_path_headers_and_body(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    async with client.send(post(fake.url + "/v1/chat/completions"), GENEROUS) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("application/json")
        assert b"chat.completion" in await response.read()
    [seen] = fake.requests
    assert (seen.method, seen.path) == ("POST", "/v1/chat/completions")
    assert seen.api_key == KEY
    assert seen.json == {"model": "m", "messages": []}


async def test_redirect_is_returned_not_followed(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    fake.script(redirect_to=fake.url + "/elsewhere/chat/completions")
    async with client.send(post(fake.url + "/v1/chat/completions"), GENEROUS) as response:
        assert response.status == 302
        assert response.headers["Location"].endswith("/elsewhere/chat/completions")
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[fe80::1]:8080/v1/chat/completions",
        "http://[::ffff:169.254.169.254]/",
    ],
)
async def test_metadata_and_link_local_addresses_are_refused(
    client: UpstreamClient, url: str
) -> None:
    with pytest.raises(UpstreamConnectError) as caught:
        async with client.send(post(url), Timeouts(connect_s=5, first_byte_s=5, idle_s=5)):
            pass
    # The policy refused before any connect attempt (a real attempt would time out or
    # fail with a network error instead), and the message names no key.
    assert caught.value.message.startswith("refused to connect to upstream")
    assert "link-local or metadata" in caught.value.message
    assert KEY not in str(caught.value)
    assert caught.value.body_sent is False


async def test_deny_list_applies_to_resolved_hostnames(fake: FakeUpstream) -> None:
    port = fake.url.rsplit(":", 1)[1]
    async with UpstreamClient(deny_cidrs=["127.0.0.0/8", "::1/128"]) as client:
        with pytest.raises(UpstreamConnectError) as caught:
            async with client.send(post(f"http://localhost:{port}/v1/chat/completions"), GENEROUS):
                pass
    assert "refused to connect to upstream localhost" in caught.value.message
    assert fake.requests == []


async def test_deny_list_applies_to_ip_literals(fake: FakeUpstream) -> None:
    async with UpstreamClient(deny_cidrs=["127.0.0.0/8"]) as client:
        with pytest.raises(UpstreamConnectError, match="denied range"):
            async with client.send(post(fake.url + "/v1/chat/completions"), GENEROUS):
                pass
    assert fake.requests == []


async def test_loopback_is_allowed_by_default(fake: FakeUpstream, client: UpstreamClient) -> None:
    port = fake.url.rsplit(":", 1)[1]
    async with client.send(
        post(f"http://localhost:{port}/v1/chat/completions"), GENEROUS
    ) as response:
        assert response.status == 200


def test_address_policy_decisions() -> None:
    default = AddressPolicy()
    assert default.refusal("169.254.169.254") is not None
    assert default.refusal("10.1.2.3") is None
    assert default.refusal("192.168.0.10") is None
    assert default.refusal("127.0.0.1") is None
    assert default.refusal("::1") is None
    assert default.refusal("fe80::1%eth0") is not None

    allowed = AddressPolicy(allow_cidrs=["169.254.0.0/16"], deny_cidrs=["169.254.169.254/32"])
    assert allowed.refusal("169.254.10.10") is None  # allow overrides the built-in rule
    assert allowed.refusal("169.254.169.254") is not None  # the more specific deny wins

    carve_out = AddressPolicy(allow_cidrs=["10.1.2.3"], deny_cidrs=["10.0.0.0/8"])
    assert carve_out.refusal("10.1.2.3") is None
    assert carve_out.refusal("10.9.9.9") is not None


def test_invalid_cidr_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="not-a-cidr"):
        UpstreamClient(allow_cidrs=["not-a-cidr"])


async def test_closed_port_is_a_connect_error(client: UpstreamClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UpstreamConnectError) as caught:
        async with client.send(post(f"http://127.0.0.1:{port}/v1/chat/completions"), GENEROUS):
            pass
    assert caught.value.body_sent is False


async def test_first_byte_timeout(fake: FakeUpstream, client: UpstreamClient) -> None:
    never = asyncio.Event()
    fake.script(hold=never)
    with pytest.raises(UpstreamTimeout) as caught:
        async with client.send(post(fake.url + "/v1/chat/completions"), Timeouts(5, 0.2, 5)):
            pass
    assert caught.value.phase == "first_byte"
    assert caught.value.body_sent is True  # the upstream got the request: do not retry
    assert len(fake.requests) == 1


async def test_idle_timeout_between_stream_chunks(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    # first_byte is huge: only the switch to the idle limit after the head can end this.
    fake.script(stall_after=2)
    received: list[bytes] = []
    async with asyncio.timeout(SAFETY_BOUND_S):
        with pytest.raises(UpstreamTimeout) as caught:
            await drain(client, stream_post(fake), Timeouts(5, 3600, 0.2), received)
    assert caught.value.phase == "idle"
    assert b"".join(received).count(b"data: ") == 2


async def test_idle_timeout_while_reading_a_whole_body(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    fake.script(body_parts=2, stall_after=1)
    async with asyncio.timeout(SAFETY_BOUND_S):
        with pytest.raises(UpstreamTimeout) as caught:
            async with client.send(
                post(fake.url + "/v1/chat/completions"), Timeouts(5, 3600, 0.2)
            ) as response:
                await response.read()
    assert caught.value.phase == "idle"


async def test_dropped_connection_mid_stream_is_a_protocol_error(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    fake.script(drop_after=2)
    with pytest.raises(UpstreamProtocolError):
        await drain(client, stream_post(fake), GENEROUS, [])


async def test_cancelling_a_stream_closes_the_upstream_connection(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    fake.script(stall_after=1)
    first_chunk = asyncio.Event()

    async def consume() -> None:
        async with client.send(stream_post(fake), GENEROUS) as response:
            async for _ in response.iter_chunks():
                first_chunk.set()

    task = asyncio.create_task(consume())
    async with asyncio.timeout(SAFETY_BOUND_S):
        await first_chunk.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await fake.disconnected.wait()
    assert fake.disconnects == 1


async def test_cancelling_while_waiting_for_the_head_closes_the_connection(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    fake.script(hold=asyncio.Event())

    async def call() -> None:
        async with client.send(post(fake.url + "/v1/chat/completions"), GENEROUS):
            pass

    task = asyncio.create_task(call())
    async with asyncio.timeout(SAFETY_BOUND_S):
        await fake.wait_for_requests(1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await fake.disconnected.wait()


async def test_leaving_a_stream_early_does_not_pool_the_connection(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    fake.script(stall_after=1)
    async with asyncio.timeout(SAFETY_BOUND_S):
        async with client.send(stream_post(fake), GENEROUS) as response:
            async for _ in response.iter_chunks():
                break
        await fake.disconnected.wait()


async def test_body_over_the_limit_by_content_length(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    fake.script(raw_body=b"x" * 2048)
    with pytest.raises(UpstreamBodyTooLarge):
        async with client.send(post(fake.url + "/v1/chat/completions"), GENEROUS) as response:
            await response.read(limit_bytes=1024)


async def test_body_over_the_limit_without_content_length(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    fake.script(raw_chunks=[b"x" * 700, b"y" * 700], content_type="application/json")
    with pytest.raises(UpstreamBodyTooLarge):
        async with client.send(stream_post(fake), GENEROUS) as response:
            await response.read(limit_bytes=1024)


async def test_body_within_the_limit_is_returned_whole(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    fake.script(raw_chunks=[b"x" * 700, b"y" * 300], content_type="application/json")
    async with client.send(stream_post(fake), GENEROUS) as response:
        assert await response.read(limit_bytes=1000) == b"x" * 700 + b"y" * 300


async def test_connections_are_reused(fake: FakeUpstream, client: UpstreamClient) -> None:
    for _ in range(3):
        async with client.send(post(fake.url + "/v1/chat/completions"), GENEROUS) as response:
            await response.read()
    assert len({r.peer for r in fake.requests}) == 1


async def test_error_status_is_just_a_response(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(status=429, retry_after="7", error_message="slow down")
    async with client.send(post(fake.url + "/v1/chat/completions"), GENEROUS) as response:
        assert response.status == 429
        assert retry_after_seconds(response.headers) == 7.0
        assert b"slow down" in await response.read()


async def test_send_before_start_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="start"):
        async with UpstreamClient().send(post("http://127.0.0.1:9/"), GENEROUS):
            pass


def test_reprs_never_show_the_key() -> None:
    assert KEY not in repr(Target("openai", "https://api.openai.com/v1", "gpt", KEY))
    assert KEY not in repr(post("https://api.openai.com/v1/chat/completions"))


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"Retry-After": "12"}) == 12.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    parsed = retry_after_seconds({"Retry-After": later})
    assert parsed is not None
    assert 0 < parsed <= 121
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None
