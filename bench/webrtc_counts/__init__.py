"""What WebRTC's loss recovery did in one process, for `bench.webrtc_network --counts`.

Counts, per process, the packets our receivers found missing (`nacked`), the retransmissions
that filled a hole in time (`repaired`) or came after it was given up (`late`), the holes
given up (`holes`), the frames dropped after one until a keyframe came (`unusable`), the
keyframe requests and retransmissions each sender was asked for, and the frames encoded and
decoded. Counts are what a run did, not how fast: unlike fps, they compare between runs on a
loaded machine. The server runs in its own process: this folder on its PYTHONPATH (its
`sitecustomize`) counts there too and writes the counts to the file named by `COUNTS_FILE_ENV`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path

from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.utils import uint16_add, uint16_gt

from plasticvision.client import jitter, live_encoder

FOLDER = Path(__file__).parent
COUNTS_FILE_ENV = "PLASTICVISION_BENCH_COUNTS"
COUNTS: Counter[str] = Counter()


def counting() -> None:
    """Wrap the parts that do the work so that they count it (once per process)."""
    if getattr(jitter.LiveJitterBuffer, "counted", False):
        return
    jitter.LiveJitterBuffer.counted = True  # type: ignore[attr-defined]
    buffer, sender, encoder = jitter.LiveJitterBuffer, RTCRtpSender, live_encoder.SteadyRate
    track_losses, take, hold = buffer.track_losses, buffer.take, buffer.hold
    retransmit, keyframe, encode = sender._retransmit, sender._send_keyframe, encoder.encode

    def counted_track_losses(self: jitter.LiveJitterBuffer, seq: int) -> None:
        if self.newest is not None and uint16_gt(seq, self.newest):
            COUNTS["nacked"] += min(uint16_add(seq, -self.newest) - 1, self.capacity)
        filling, repaired = seq in self.missing, self.repaired
        track_losses(self, seq)
        if filling:
            COUNTS["repaired" if self.repaired > repaired else "late"] += 1

    def counted_take(self: jitter.LiveJitterBuffer, packets: list, count: int):  # noqa: ANN202
        frame = take(self, packets, count)
        COUNTS["decoded" if frame is not None else "unusable"] += 1
        return frame

    def counted_hold(self: jitter.LiveJitterBuffer) -> None:
        skipped = self.skipped
        hold(self)
        COUNTS["holes"] += self.skipped - skipped

    async def counted_retransmit(self: RTCRtpSender, seq: int) -> None:
        COUNTS["retransmitted"] += 1
        await retransmit(self, seq)

    def counted_keyframe(self: RTCRtpSender) -> None:
        COUNTS["keyframes asked"] += 1
        keyframe(self)

    def counted_encode(self: live_encoder.SteadyRate, frame, force_keyframe: bool = False):  # noqa: ANN001, ANN202
        COUNTS["encoded"] += 1
        return encode(self, frame, force_keyframe)

    buffer.track_losses, buffer.take, buffer.hold = counted_track_losses, counted_take, counted_hold
    sender._retransmit, sender._send_keyframe, encoder.encode = counted_retransmit, counted_keyframe, counted_encode


def write_every(path: str, seconds: float = 0.25) -> None:
    """Keep `path` holding this process's counts (JSON), from a daemon thread."""

    def loop() -> None:
        while True:
            Path(path + ".tmp").write_text(json.dumps(COUNTS))
            os.replace(path + ".tmp", path)
            time.sleep(seconds)

    threading.Thread(target=loop, name="bench-counts", daemon=True).start()


def read(path: str) -> Counter[str]:
    try:
        return Counter(json.loads(Path(path).read_text()))
    except (OSError, ValueError):
        return Counter()
