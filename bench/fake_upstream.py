"""A fast fake OpenAI-compatible upstream for benchmarks: fixed answers, no logic.

Run as ``python bench/fake_upstream.py PORT``. Non-streaming requests get one small
chat.completion; streaming requests get five content chunks, a usage chunk and [DONE].
"""

from __future__ import annotations

import sys

import orjson
from aiohttp import web

COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "pong"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    }
)


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "bench-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


STREAM = [
    _chunk({"role": "assistant", "content": ""}),
    *[_chunk({"content": word}) for word in ("one ", "two ", "three ", "four ", "five")],
    _chunk({}, "stop"),
    b"data: "
    + orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "bench-model",
            "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
        }
    )
    + b"\n\n",
    b"data: [DONE]\n\n",
]


async def handle(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    if b'"stream":true' in body.replace(b" ", b""):
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for piece in STREAM:
            await response.write(piece)
        await response.write_eof()
        return response
    return web.Response(body=COMPLETION, content_type="application/json")


def main() -> None:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", handle)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
