"""The client end of a protocol-2 live stream, blocking on the outside, an asyncio loop in a thread inside.

`send` never blocks on the network: it refuses (returns None) while the frames in flight fill
the pacer's window or while the socket still holds an unsent frame, so frames are never queued
behind each other and latency stays bounded. `receive` hands out the newest reply that has
arrived (older ones waiting behind it count as dropped), because a live view wants now, not
a backlog. `pacing` sets the window, the JPEG quality and the width; `codec` does the JPEG work.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections import deque

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from plasticvision.client.errors import (
    ClientError,
    ServerRefused,
    ServerUnreachable,
    StreamClosed,
    refusal,
    split_close_reason,
)
from plasticvision.client.codec import decode_reply_frame, encode_frame_jpeg
from plasticvision.client.pacing import Pacer, describe
from plasticvision.protocol import (
    KIND_DROPPED,
    MAX_CAPTURE_TIME_MS,
    PROTOCOL_V2,
    ProtocolError,
    decode_reply,
    encode_frame,
)
from plasticvision.client.types import Pending, StreamReply, StreamStats, percentile

log = logging.getLogger(__name__)

STALE_S = 10.0  # a frame with no answer after this long stops holding a slot
STATS_WINDOW_S = 2.0
LATENCY_SAMPLES = 300


def now_ms() -> float:
    return time.monotonic() * 1000


class LiveConnection:
    """Use `StreamClient.open_stream()` to make one."""

    def __init__(self, max_in_flight: int, timeout: float) -> None:
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self.pacer = Pacer(max_in_flight=max_in_flight)
        self.lock = threading.Lock()
        self.pending: dict[int, Pending] = {}
        self.replies: queue.Queue[tuple | None] = queue.Queue()
        self.next_seq = 1
        self.last_out_seq = 0
        self.frame_bytes = 0
        self.size = (0, 0)
        self.sent = self.received = self.dropped = self.skipped = self.errors = 0
        self.handed_out: deque[float] = deque()
        self.latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self.closed_reason: str | None = None
        self.closed_type: str | None = None  # the server's error type, when it closed the stream with one
        self.ws: ClientConnection | None = None
        self.outbox: asyncio.Queue[bytes] | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="plasticvision-live", daemon=True)
        self.thread.start()

    @classmethod
    def connect(cls, url: str, base_url: str, *, max_in_flight: int = 8, timeout: float = 10.0) -> LiveConnection:
        live = cls(max_in_flight, timeout)
        try:
            asyncio.run_coroutine_threadsafe(live.open(url, base_url), live.loop).result(timeout + 5)
        except BaseException:
            live.stop_loop()
            raise
        return live

    async def open(self, url: str, base_url: str) -> None:
        try:
            self.ws = await connect(url, compression=None, max_size=None, open_timeout=self.timeout)
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise ServerRefused(f"{base_url} refused the stream: HTTP {status}", status=status) from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise ServerUnreachable(f"cannot reach the stream at {base_url}: {exc}") from None
        try:
            hello = json.loads(await asyncio.wait_for(self.ws.recv(), self.timeout))
        except ConnectionClosed as exc:
            raise closed_error(exc, base_url) from None
        except (TimeoutError, ValueError, TypeError):
            hello = None
        if not (isinstance(hello, dict) and hello.get("protocol") == PROTOCOL_V2):
            await self.ws.close()
            raise ServerRefused(f"{base_url} does not speak stream protocol 2 (is it a PlasticVision server?)")
        self.outbox = asyncio.Queue()
        self.loop.create_task(self.send_loop())
        self.loop.create_task(self.receive_loop())

    def send(self, frame: np.ndarray, capture_time: float | None = None) -> int | None:
        """Send a BGR frame; its seq, or None when it was not sent (window full, socket busy).

        `capture_time` is when the camera took the frame, in seconds on `time.monotonic()`'s clock
        (default: now); replies echo it, and their `latency_ms` is measured from it.
        """
        if self.closed_reason is not None:
            raise StreamClosed(self.closed_reason, type=self.closed_type)
        capture_ms = (time.monotonic() if capture_time is None else capture_time) * 1000
        if not 0 <= capture_ms <= MAX_CAPTURE_TIME_MS:
            raise ClientError(f"capture_time {capture_time!r} is not seconds on time.monotonic()'s clock")
        with self.lock:
            self.forget_stale(now_ms())
            busy = self.ws is not None and self.ws.transport.get_write_buffer_size() >= max(1, self.frame_bytes)
            if len(self.pending) >= self.pacer.window or busy:
                self.skipped += 1
                return None
            level = self.pacer.level
            seq, self.next_seq = self.next_seq, self.next_seq + 1
        jpeg, size = encode_frame_jpeg(frame, level)
        data = encode_frame(seq, capture_ms, jpeg, level.reply_quality)
        with self.lock:
            self.pending[seq] = Pending(now_ms(), len(data))
            self.frame_bytes, self.size = len(data), size
            self.sent += 1
        self.loop.call_soon_threadsafe(self.outbox.put_nowait, data)
        return seq

    def receive(self, timeout: float | None = None) -> StreamReply | None:
        """The newest swapped frame that arrived (waiting up to `timeout` s for one); None on timeout."""
        try:
            item = self.replies.get(timeout=timeout)
        except queue.Empty:
            return None
        while item is not None:
            try:
                newer = self.replies.get_nowait()
            except queue.Empty:
                break
            if newer is None:
                self.replies.put(None)  # the close, for the next call
                break
            self.dropped += 1  # overtaken before it was asked for
            item = newer
        if item is None:
            self.replies.put(None)  # every later call learns it too
            raise StreamClosed(self.closed_reason or "the stream closed", type=self.closed_type)
        header, payload = item
        frame = decode_reply_frame(payload, header.seq)
        latency_ms = now_ms() - header.capture_time_ms
        with self.lock:
            self.latencies.append(latency_ms)
            self.handed_out.append(time.monotonic())
        return StreamReply(
            header.seq, frame, header.capture_time_ms / 1000, header.server_ms, latency_ms, header.work_ms
        )

    def stats(self) -> StreamStats:
        with self.lock:
            now = time.monotonic()
            while self.handed_out and self.handed_out[0] < now - STATS_WINDOW_S:
                self.handed_out.popleft()
            latencies = list(self.latencies)
            pacer, level = self.pacer, self.pacer.level
            return StreamStats(
                fps=len(self.handed_out) / STATS_WINDOW_S,
                latency_p50_ms=percentile(latencies, 50),
                latency_p95_ms=percentile(latencies, 95),
                dropped=self.dropped,
                skipped=self.skipped,
                in_flight=len(self.pending),
                window=pacer.window,
                jpeg_quality=level.quality,
                width=self.size[0],
                height=self.size[1],
                frame_bytes=self.frame_bytes,
                sent=self.sent,
                received=self.received,
                errors=self.errors,
                server_ms=pacer.server_ms,
                network_ms=pacer.base_ms,
                link_limited=pacer.link_limited,
                message=describe(pacer, now * 1000, self.size[1]) if pacer.link_limited else None,
            )

    def close(self) -> None:
        if self.ws is not None and self.loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self.ws.close(), self.loop).result(self.timeout)
            except (TimeoutError, ConnectionClosed, OSError):
                pass
        self.closed_reason = self.closed_reason or "the stream was closed by this client"
        self.stop_loop()

    def __enter__(self) -> LiveConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stop_loop(self) -> None:
        """Cancel the connection's tasks, then end the loop and its thread."""
        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(cancel_tasks(), self.loop).result(self.timeout)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(self.timeout)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()

    async def send_loop(self) -> None:
        """One sender, so frames leave in seq order."""
        try:
            while True:
                await self.ws.send(await self.outbox.get())
        except ConnectionClosed:
            pass

    async def receive_loop(self) -> None:
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    self.on_reply(message)
                else:
                    self.on_text(message)
        except ConnectionClosed:
            pass
        code, reason = self.ws.close_code, self.ws.close_reason
        if self.closed_reason is None and code not in (None, 1006):
            self.closed_type = split_close_reason(reason or "")[0] or None
        self.closed_reason = self.closed_reason or (
            f"the server closed the stream ({code}): {reason}" if code not in (None, 1006) else "the connection broke"
        )
        self.replies.put(None)

    def on_reply(self, message: bytes) -> None:
        try:
            header, payload = decode_reply(message)
        except ProtocolError as exc:
            log.warning("stream: %s", exc)
            return
        with self.lock:
            pending = self.pending.pop(header.seq, None)
            if pending is not None:
                swapped = header.kind != KIND_DROPPED
                self.pacer.on_reply(now_ms(), pending.sent_ms, header.server_ms, pending.size, len(message), swapped)
            if header.kind == KIND_DROPPED or header.seq <= self.last_out_seq:
                self.dropped += 1
                return
            self.last_out_seq = header.seq
            self.received += 1
        self.replies.put((header, payload))

    def on_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return
        if isinstance(message, dict) and "detail" in message:
            log.warning("stream: the server refused %s: %s", message.get("about", "a message"), message["detail"])
            with self.lock:
                self.errors += 1
                if self.pending.pop(message.get("seq"), None) is not None:
                    self.dropped += 1

    def forget_stale(self, at_ms: float) -> None:
        for seq in [seq for seq, entry in self.pending.items() if entry.sent_ms < at_ms - STALE_S * 1000]:
            del self.pending[seq]
            self.dropped += 1


async def cancel_tasks() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def closed_error(exc: ConnectionClosed, base_url: str) -> ClientError:
    """The typed failure for a stream the server refused at once, by the type its close reason starts with."""
    if exc.rcvd is None:
        return StreamClosed(f"{base_url} closed the stream without a reason", status=1006)
    type_, detail = split_close_reason(exc.rcvd.reason)
    return refusal(type_, detail or "no reason given", exc.rcvd.code, base_url)
