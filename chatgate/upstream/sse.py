"""Server-sent events, both directions.

:class:`SseDecoder` turns upstream bytes into ``(event, data)`` pairs however the bytes
were split across reads. Lines may end in ``\\n`` or ``\\r\\n`` (a lone ``\\r`` line end
is not used by any upstream we speak to). :func:`last_event_end` finds the last complete
event in a byte run, so relays can forward whole events without parsing them.
"""

from __future__ import annotations

from typing import Final

DONE_EVENT: Final[bytes] = b"data: [DONE]\n\n"


class SseDecoder:
    __slots__ = ("_buffer", "_data", "_event")

    def __init__(self) -> None:
        self._buffer = b""
        self._event = ""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        buffer = self._buffer + chunk if self._buffer else chunk
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()  # the unfinished last line (often b"")
        return self._take(lines)

    def flush(self) -> list[tuple[str, bytes]]:
        """At end of stream: an event whose lines all arrived counts even without the
        closing blank line; a half-received line is dropped."""
        self._buffer = b""
        return self._take([b""]) if self._data else []

    def _take(self, lines: list[bytes]) -> list[tuple[str, bytes]]:
        events: list[tuple[str, bytes]] = []
        for raw_line in lines:
            line = raw_line[:-1] if raw_line.endswith(b"\r") else raw_line
            if not line:
                if self._data:
                    events.append((self._event or "message", b"\n".join(self._data)))
                self._event = ""
                self._data = []
                continue
            if line[0] == 0x3A:  # ":" starts a comment (keep-alives)
                continue
            name, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                self._data.append(value)
            elif name == b"event":
                self._event = value.decode("utf-8", "replace")
        return events


def last_event_end(data: bytes) -> int:
    """Index just past the last event terminator (blank line) in ``data``, or -1."""
    lf = data.rfind(b"\n\n")
    crlf = data.rfind(b"\r\n\r\n")
    return max(lf + 2 if lf >= 0 else -1, crlf + 4 if crlf >= 0 else -1)


def split_events(data: bytes) -> list[bytes]:
    """Split complete events (each keeps its terminator) — only used on the rare chunk
    that needs a closer look."""
    events: list[bytes] = []
    start = 0
    while True:
        end = _next_end(data, start)
        if end < 0:
            break
        events.append(data[start:end])
        start = end
    if start < len(data):
        events.append(data[start:])
    return events


def _next_end(data: bytes, start: int) -> int:
    lf = data.find(b"\n\n", start)
    crlf = data.find(b"\r\n\r\n", start)
    if lf < 0:
        return crlf + 4 if crlf >= 0 else -1
    if crlf < 0 or lf < crlf:
        return lf + 2
    return crlf + 4
