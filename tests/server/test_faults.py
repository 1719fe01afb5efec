"""Faults injected into a real server process: SIGKILL mid-job, a full disk mid-write.

Each test starts `plasticvision serve` as a child process, breaks something for real, then
checks what the server promised: the job's state and reason, the files on disk, and that the
server still answers.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server_process import server_process
from tests.support.video_clips import make_clip

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).parents[1] / "data" / "Tom_Hanks_54745.png"
TMPFS_MB = 24
FSIZE_FACTOR = 3  # the file-size limit, in input sizes: the upload fits, the output does not


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("faults") / "short.mp4", size=(160, 120), seconds=0.5, audio=False)


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


def test_a_job_killed_with_sigkill_is_failed_with_its_reason_after_restart(tmp_path, short_clip, long_clip):
    data = tmp_path / "data"
    log = tmp_path / "server.log"
    with server_process(data, log) as server:
        post_job(server.url, short_clip, "finished")
        wait_for(server.url, "finished", lambda r: r["state"] == "done")
        finished = httpx.get(f"{server.url}/jobs/finished/result", timeout=30).content
        post_job(server.url, long_clip, "killed")
        wait_for(server.url, "killed", lambda r: r["frames_done"] >= 30)
        assert files_under(data / "tmp" / "killed"), "the partial output exists when the kill comes"
        server.kill()
        port = server.url.rsplit(":", 1)[1]
    assert job_state_on_disk(data, "killed") == "running", "SIGKILL left the record as it was"

    with server_process(data, log, port=int(port)) as server:
        killed = job(server.url, "killed")
        assert killed["state"] == "failed" and "interrupted" in killed["error"]
        assert 30 <= killed["frames_done"] < killed["frames_total"]
        assert files_under(data / "tmp") == [] and files_under(data / "uploads") == []
        assert [path.name for path in files_under(data / "results")] == ["finished.mp4"]
        again = httpx.get(f"{server.url}/jobs/finished/result", timeout=30)
        assert again.status_code == 200 and again.content == finished
        events = httpx.get(f"{server.url}/jobs/killed/events", timeout=10)
        assert events.status_code == 200 and "event: failed" in events.text
    assert_no_server_errors(log.read_text())


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
    with server_process(data, log) as server:
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
