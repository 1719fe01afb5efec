"""Faults injected into a real server process: SIGKILL mid-job, a chunk that crashes it, SIGTERM, a full disk.

Each test starts `plasticvision serve` as a child process, breaks something for real, then
checks what the server promised: the job's state and reason, the files on disk, and that the
server still answers.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from plasticvision.server.jobs.ledger import CRASH_CHUNK_ENV, MAX_CRASHES
from tests.support.chunk_checks import assert_differs_only_near_joins, assert_same_timing_and_sound
from tests.support.server_process import server_process, start_server, wait_until_up
from tests.support.video_clips import make_clip

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).parents[1] / "data" / "Tom_Hanks_54745.png"
TMPFS_MB = 24
FSIZE_FACTOR = 3  # the file-size limit, in input sizes: the upload fits, the output does not
SMALL_CHUNKS = {"PLASTICVISION_VIDEO_CHUNK_S": "1"}  # as short as chunks go (media.video_chunks.MIN_CHUNK_FRAMES)
# Eight chunks of 30: a fault injected while chunk 0 or 1 runs still leaves several to come. With three,
# a fast machine had handed out the last chunk before SIGTERM's drain began (~0.3 s) and the job finished.
CHUNK_FRAMES = 240
STOP_TIMEOUT_S = 60  # deploy/plasticvision@.service's TimeoutStopSec


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("faults") / "short.mp4", size=(160, 120), seconds=0.5, audio=False)


@pytest.fixture(scope="module")
def chunk_clip(tmp_path_factory) -> Path:
    """CHUNK_FRAMES frames with sound, a keyframe every 10: chunks of 30 frames with SMALL_CHUNKS."""
    path = tmp_path_factory.mktemp("faults") / "chunks.mp4"
    return make_clip(path, size=(240, 180), seconds=CHUNK_FRAMES / 15, fps=15, keyframe_every=10)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """Long enough to be mid-way when the fault strikes, on two busy cores."""
    return make_clip(tmp_path_factory.mktemp("faults") / "long.mp4", size=(320, 240), seconds=30.0, fps=15)


def post_job(base: str, clip: Path, job_id: str) -> dict:
    files = [
        ("source_files", ("face.png", SOURCE.read_bytes(), "image/png")),
        ("target_file", (clip.name, clip.read_bytes(), "video/mp4")),
    ]
    response = httpx.post(f"{base}/jobs/video", files=files, data={"job_id": job_id}, timeout=60)
    assert response.status_code == 202, response.text
    return response.json()


def job(base: str, job_id: str) -> dict:
    return httpx.get(f"{base}/jobs/{job_id}", timeout=10).json()


def wait_for(base: str, job_id: str, predicate, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while not predicate(record := job(base, job_id)):
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} never got there: {record}")
        time.sleep(0.1)
    return record


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def assert_no_server_errors(log: str) -> None:
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]


def test_a_job_killed_with_sigkill_resumes_after_restart_from_its_last_finished_chunk(tmp_path, chunk_clip):
    """The same clip swapped once without a fault and once with the server killed mid-way: the resumed job
    ends with the uninterrupted one's frames, timing and sound, and the restarted server did only the rest
    (its device counts every frame run through the engine, a chunk's tracker warm-up frames included)."""
    data, log = tmp_path / "data", tmp_path / "server.log"
    with server_process(data, log, env=SMALL_CHUNKS) as server:
        post_job(server.url, chunk_clip, "whole")
        wait_for(server.url, "whole", lambda r: r["state"] == "done")
        whole = fetch_result(server.url, "whole", tmp_path / "whole.mp4")
        work_for_whole = device_frames(server.url)
        post_job(server.url, chunk_clip, "killed")
        wait_for(server.url, "killed", lambda r: finished_chunks(data, "killed") >= 1)
        server.kill()
        port = server.port
    assert job_state_on_disk(data, "killed") == "running", "SIGKILL left the record as it was"
    done_before = finished_chunks(data, "killed")

    with server_process(data, log, port=port, env=SMALL_CHUNKS) as server:
        record = wait_for(server.url, "killed", lambda r: r["state"] in ("done", "failed"))
        assert record["state"] == "done", record
        resumed_from = record["resumed_from_frame"]
        assert 0 < resumed_from < CHUNK_FRAMES and record["note"] == f"resumed from frame {resumed_from}"
        assert done_before >= 1 and record["frames_done"] == CHUNK_FRAMES
        assert device_frames(server.url) < work_for_whole, "the restarted server swapped the whole video again"
        events = httpx.get(f"{server.url}/jobs/killed/events", timeout=10).text
        assert "event: done" in events and f"resumed from frame {resumed_from}" in events
        resumed = fetch_result(server.url, "killed", tmp_path / "resumed.mp4")
        assert files_under(data / "tmp") == [] and files_under(data / "uploads") == []
    assert_same_timing_and_sound(resumed, whole)
    assert_differs_only_near_joins(resumed, whole, joins=[], lossless=False)
    assert_no_server_errors(log.read_text())


def test_a_chunk_that_kills_the_server_three_times_fails_its_job_and_the_server_serves_on(tmp_path, chunk_clip, short_clip):
    data, log = tmp_path / "data", tmp_path / "server.log"
    crashing = {**SMALL_CHUNKS, CRASH_CHUNK_ENV: "1"}
    port = None
    for attempt in range(MAX_CRASHES):
        server = start_server(data, log, port=port, env=crashing)
        port = server.port
        if attempt == 0:  # later starts resume the job at once, and crash before or after they answer
            wait_until_up(server)
            post_job(server.url, chunk_clip, "crashing")
        assert server.process.wait(timeout=120) == -signal.SIGKILL  # chunk 1 took the process down
    with server_process(data, log, port=port, env=crashing) as server:
        record = job(server.url, "crashing")
        assert record["state"] == "failed", record
        assert "chunk 1 (frames" in record["error"] and "crashed the server 3 times" in record["error"]
        assert files_under(data / "tmp") == [] and files_under(data / "uploads") == []
        post_job(server.url, short_clip, "after")  # a clip of one chunk: chunk 1 never comes
        assert wait_for(server.url, "after", lambda r: r["state"] in ("done", "failed"))["state"] == "done"


def test_sigterm_lets_the_running_chunk_finish_and_the_job_resumes_at_the_next_start(tmp_path, chunk_clip):
    data, log = tmp_path / "data", tmp_path / "server.log"
    with server_process(data, log, env=SMALL_CHUNKS) as server:
        post_job(server.url, chunk_clip, "stopped")
        wait_for(server.url, "stopped", lambda r: r["frames_done"] >= 5)
        stopping = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=STOP_TIMEOUT_S) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
        port = server.port
    stop_s = time.monotonic() - stopping
    assert job_state_on_disk(data, "stopped") == "resuming"
    assert finished_chunks(data, "stopped") >= 1, "the running chunk was finished, not thrown away"
    with server_process(data, log, port=port, env=SMALL_CHUNKS) as server:
        record = wait_for(server.url, "stopped", lambda r: r["state"] in ("done", "failed"))
        assert record["state"] == "done" and record["resumed_from_frame"], record
    assert stop_s < STOP_TIMEOUT_S
    assert_no_server_errors(log.read_text())


def fetch_result(base: str, job_id: str, path: Path) -> Path:
    response = httpx.get(f"{base}/jobs/{job_id}/result", timeout=30)
    assert response.status_code == 200
    path.write_bytes(response.content)
    return path


def device_frames(base: str) -> int:
    return sum(device["frames"] for device in httpx.get(f"{base}/status", timeout=10).json()["devices"])


def finished_chunks(data: Path, job_id: str) -> int:
    import sqlite3

    with sqlite3.connect(data / "jobs.sqlite3") as db:
        query = "SELECT COUNT(*) FROM chunks WHERE job_id = ? AND sha256 IS NOT NULL"
        return db.execute(query, (job_id,)).fetchone()[0]


def job_state_on_disk(data: Path, job_id: str) -> str:
    import sqlite3

    with sqlite3.connect(data / "jobs.sqlite3") as db:
        return db.execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,)).fetchone()[0]


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A real, small filesystem (tmpfs) to serve as the data dir; needs the right to mount (root)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:  # the file-size-limit variant below still runs
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path, leave_bytes: int) -> Path:
    """A file that takes all of the disk's free space but `leave_bytes`."""
    filler = disk / "filler.bin"
    free = shutil.disk_usage(disk).free - leave_bytes
    chunk = b"\0" * (1024 * 1024)
    with open(filler, "wb") as out:
        while free > 0:
            out.write(chunk[: min(free, len(chunk))])
            free -= len(chunk)
    return filler


def assert_failed_for_disk_full_and_still_serving(server, data: Path, short_clip: Path, log: Path) -> None:
    failed = wait_for(server.url, "starved", lambda r: r["state"] != "running", timeout=120)
    assert failed["state"] == "failed" and "disk full" in failed["error"], failed
    assert files_under(data / "tmp") == [] and files_under(data / "uploads") == []
    assert files_under(data / "results") == []
    assert httpx.get(f"{server.url}/status", timeout=10).status_code == 200
    post_job(server.url, short_clip, "after")
    assert wait_for(server.url, "after", lambda r: r["state"] in ("done", "failed"))["state"] == "done"
    assert "video job starved failed: disk full" in log.read_text()
    assert_no_server_errors(log.read_text())


def test_a_full_disk_fails_the_job_with_disk_full_and_the_server_keeps_serving(
    tmp_path, small_disk, short_clip, long_clip
):
    """The data dir on a small tmpfs that the test fills up while the job writes its output."""
    data = small_disk / "data"
    log = tmp_path / "server.log"
    with server_process(data, log, env={"PLASTICVISION_MIN_FREE_MB": "0"}) as server:  # the upload is let in
        post_job(server.url, long_clip, "starved")
        wait_for(server.url, "starved", lambda r: r["frames_done"] >= 15)
        filler = fill(small_disk, leave_bytes=128 * 1024)
        try:
            wait_for(server.url, "starved", lambda r: r["state"] != "running", timeout=120)
        finally:
            os.unlink(filler)  # so the server has room to take the next job
        assert_failed_for_disk_full_and_still_serving(server, data, short_clip, log)


def test_a_file_size_limit_fails_the_job_with_disk_full_too(tmp_path, short_clip):
    """Where mounting is not allowed: RLIMIT_FSIZE on the server, so writes past it fail (EFBIG).

    The input is a small, low-quality clip; its swapped output, at normal quality, outgrows the limit.
    """
    clip = make_clip(tmp_path / "low-quality.mp4", size=(320, 240), seconds=30.0, fps=15, crf=45, audio=False)
    limit = FSIZE_FACTOR * clip.stat().st_size
    data = tmp_path / "data"
    log = tmp_path / "server.log"

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    with server_process(data, log, preexec_fn=limit_file_size) as server:
        post_job(server.url, clip, "starved")
        assert_failed_for_disk_full_and_still_serving(server, data, short_clip, log)


def test_an_upload_the_disk_cannot_hold_is_a_507_before_a_byte_is_spooled(tmp_path, small_disk):
    """Data dir and TMPDIR on one small tmpfs: the declared Content-Length decides, nothing is written."""
    data, spool = small_disk / "data", small_disk / "spool"
    spool.mkdir()
    with server_process(data, tmp_path / "server.log", env={"TMPDIR": str(spool), "PLASTICVISION_MIN_FREE_MB": "1"}) as server:
        free, spooled_before = shutil.disk_usage(small_disk).free, files_under(spool)
        too_big = [("source_files", ("face.png", SOURCE.read_bytes(), "image/png")),
                   ("target_file", ("big.mp4", os.urandom(TMPFS_MB * 1024 * 1024), "video/mp4"))]
        refused = httpx.post(f"{server.url}/jobs/video", files=too_big, timeout=60)
        assert refused.status_code == 507 and "not enough disk space" in refused.json()["detail"], refused.text
        assert files_under(spool) == spooled_before and files_under(data / "uploads") == []
        assert shutil.disk_usage(small_disk).free >= free - 1024 * 1024  # the job store's few pages at most
        assert httpx.get(f"{server.url}/jobs", timeout=10).json() == []
    assert_no_server_errors((tmp_path / "server.log").read_text())
