"""One log format for every logger in the process (chatgate's, uvicorn's, alembic's).

``CHATGATE_LOG_FORMAT=text`` writes ``time LEVEL logger message key=value …``; ``json``
writes one object per line for log shippers. Structured fields travel in a record's
``fields`` attribute (``log.info("request", extra={"fields": {...}})``) so both formats
show them without parsing messages.

Records are handed to a queue and written by a thread: a slow or blocked stderr never
stalls the event loop (the access line is written for every gateway request).

Nothing logged may carry a key, a token or prompt text: callers pass ids, names, statuses
and error classes only.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
import time
from typing import Any, Literal

import orjson

LogFormat = Literal["text", "json"]

# Loggers that libraries configure themselves; they are re-pointed at the root handler.
_LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        parts.extend(f"{key}={_text_value(value)}" for key, value in _fields(record).items())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text_value(value: Any) -> str:
    text = "-" if value is None else str(value)
    return f'"{text}"' if not text or " " in text or '"' in text else text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


_listeners: list[logging.handlers.QueueListener] = []


def flush_logs() -> None:
    """Write out everything queued and stop the writer thread; later records go nowhere.
    Runs at exit, and when a server worker stops (it may then end by its signal)."""
    while _listeners:
        _listeners.pop().stop()


atexit.register(flush_logs)


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Install the one handler on the root logger; idempotent (the last call wins)."""
    formatter: logging.Formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    output = logging.StreamHandler(sys.stderr)
    output.setFormatter(formatter)
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, output)
    listener.start()
    flush_logs()  # a previous configuration's listener, if any
    _listeners.append(listener)

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.handlers.QueueHandler(records))
    root.setLevel(level.upper())
    for name in _LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
