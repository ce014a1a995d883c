"""uvicorn's HTTP protocol with a deadline for request headers, writing each response in
one piece.

uvicorn closes idle keep-alive connections, but once any byte arrives it waits for the
rest of the headers for as long as the client likes: a few hundred clients trickling a
header line a minute hold as many connections open (slowloris). Here every request's
headers must be complete within ``header_timeout`` seconds of its first byte (or of
the connection opening); otherwise the connection is closed. Bodies have their own
deadline in ``middleware.BodyLimit``.

uvicorn writes a response's head and its body with two writes: on a keep-alive
connection each is a system call and a TCP segment of its own. The connection's
transport here (``CoalescingTransport``) sends what one step of the event loop wrote
as one write instead: for the Events API's small answers that is 4 to 16 % more events
a second (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeaderDeadlineProtocol(HttpToolsProtocol):
    header_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One timer per connection, re-armed when it fires rather than set and cancelled
        # for every request: a busy keep-alive connection makes no timer per request.
        self._header_deadline: asyncio.TimerHandle | None = None
        self._awaiting_since: float | None = None  # None: no headers are awaited

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))
        self._await_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_headers()

    def on_headers_complete(self) -> None:
        self._awaiting_since = None
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._awaiting_since = None
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._awaiting_since = self.loop.time()
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_at(
                self._awaiting_since + self.header_timeout, self._deadline_reached
            )

    def _deadline_reached(self) -> None:
        self._header_deadline = None
        if self._awaiting_since is None:
            return  # the headers came; the next request arms the timer again
        due = self._awaiting_since + self.header_timeout
        if self.loop.time() < due:  # a later request's headers are awaited
            self._header_deadline = self.loop.call_at(due, self._deadline_reached)
        elif not self.transport.is_closing():
            self.transport.close()


class CoalescingTransport(asyncio.Transport):
    """A connection's transport that sends the writes made in one step of the event loop
    as one write, at the end of that step. Order is kept, and ``close`` sends what is
    held first. Once ``send_at`` bytes are held they are sent at once, so a large answer
    written in one step still meets the connection's flow control (uvicorn waits for the
    socket to drain once its buffer is full). Once the connection is handed to another
    protocol (a WebSocket upgrade), writes go straight through again: a WebSocket's
    messages are written one at a time.
    """

    send_at = 65536

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes | bytearray | memoryview] = []
        self._held_bytes = 0
        self._direct = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._direct:
            self._transport.write(data)
            return
        if not self._held:
            self._loop.call_soon(self._send_held)
        self._held.append(data)
        self._held_bytes += len(data)
        if self._held_bytes >= self.send_at:
            self._send_held()

    def _send_held(self) -> None:
        held, self._held, self._held_bytes = self._held, [], 0
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def close(self) -> None:
        self._send_held()
        self._transport.close()

    def abort(self) -> None:
        self._held, self._held_bytes = [], 0
        self._transport.abort()

    def write_eof(self) -> None:
        self._send_held()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._send_held()
        self._direct = True
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_bytes

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


def protocol_with_header_timeout(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class to give uvicorn (``http=``), with its deadline set."""
    return type("HeaderDeadline", (HeaderDeadlineProtocol,), {"header_timeout": seconds})
