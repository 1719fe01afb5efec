"""The latest-frame-wins loop both live paths use: no frame waits in a queue, no result is shown late."""

from __future__ import annotations

import asyncio

from tests.support.own_loop import in_own_loop

from plasticvision.server.newest_frame import NewestFrame, process_newest


def test_an_offered_frame_replaces_the_waiting_one():
    async def run() -> tuple:
        frames: NewestFrame[int] = NewestFrame()
        first = frames.offer(1)
        replaced = frames.offer(2)
        ready = frames.ready.is_set()
        taken, again = frames.take(), frames.take()
        frames.offer(3)
        discarded = frames.discard()
        return first, replaced, ready, taken, again, discarded, frames.ready.is_set()

    assert in_own_loop(run()) == (None, 1, True, 2, None, 3, False)


def test_a_slow_worker_gets_the_newest_frame_and_skips_the_rest():
    """Frames every 10 ms, work of 35 ms on one thread: each frame worked on was the newest when
    the thread came free, so about one in four is processed and none waits."""

    async def run() -> tuple[list[int], list[int]]:
        frames: NewestFrame[int] = NewestFrame()
        thread = asyncio.Semaphore(1)
        worked: list[int] = []
        delivered: list[int] = []

        async def work(frame: int) -> int:
            worked.append(frame)
            await asyncio.sleep(0.035)
            return frame * 10

        async def deliver(frame: int, result: int) -> None:
            assert result == frame * 10
            delivered.append(frame)

        processor = asyncio.create_task(process_newest(frames, lambda: thread, work, deliver))
        for number in range(1, 41):
            frames.offer(number)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the last frame's thread comes free, then its work ends
        processor.cancel()
        return worked, delivered

    worked, delivered = in_own_loop(run())
    assert worked == delivered == sorted(worked) and worked[-1] == 40
    assert 6 <= len(worked) <= 16, worked  # ~40 frames / 3.5 frames per swap; a queue would have taken all 40


def test_a_result_overtaken_by_a_newer_one_is_not_shown():
    """Two processors: frame 1's work is slow, frame 2's fast; 2 is shown, then 1 is refused."""

    async def run() -> list[tuple[int, bool]]:
        frames: NewestFrame[int] = NewestFrame()
        threads = asyncio.Semaphore(2)
        shown: list[tuple[int, bool]] = []

        async def work(frame: int) -> int | None:
            await asyncio.sleep(0.1 if frame == 1 else 0.01)
            return None if frame == 3 else frame  # None: nothing to deliver (an error the caller reported)

        async def deliver(frame: int, _result: int) -> None:
            shown.append((frame, frames.first_to_show(frame)))

        processors = [asyncio.create_task(process_newest(frames, lambda: threads, work, deliver)) for _ in range(2)]
        for number in (1, 2):
            frames.offer(number)
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.15)
        frames.offer(3)
        await asyncio.sleep(0.05)
        for processor in processors:
            processor.cancel()
        return shown

    assert in_own_loop(run()) == [(2, True), (1, False)]
