"""Where a job's files live under the data dir, and the clean-up that leaves no debris.

    data_dir/jobs.sqlite3               the records, and each job's chunk plan and finished chunks
    data_dir/uploads/<id>/target.video  the uploaded target video (our own suffix)   } kept until the job
    data_dir/uploads/<id>/job.npz       its sources, settings and face map           } ends: what a resume
    data_dir/tmp/<id>/chunks/           its finished chunks                          } after a crash needs
    data_dir/tmp/<id>/                  the joined output being written
    data_dir/results/<id>.mp4           finished videos, kept until the job is deleted

Everything is on one disk, so a finished result is renamed into place, never copied.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO

from plasticvision.errors import DiskFull
from plasticvision.video.disk_full import is_disk_full
from plasticvision.server.uploads import UploadTooLarge

UPLOADS, TEMP, RESULTS = "uploads", "tmp", "results"
DATABASE = "jobs.sqlite3"
CHUNK = 1024 * 1024
SPEC_NAME = "job.npz"
UPLOAD_NAME = "target.video"  # our own name: the container is sniffed (`video.formats`), never told by the client's suffix


class JobFiles:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir)
        for folder in (UPLOADS, TEMP, RESULTS):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    @property
    def database(self) -> Path:
        return self.root / DATABASE

    def upload_dir(self, job_id: str) -> Path:
        return self.root / UPLOADS / job_id

    def temp_dir(self, job_id: str) -> Path:
        return self.root / TEMP / job_id

    def target(self, job_id: str) -> Path:
        return self.upload_dir(job_id) / UPLOAD_NAME

    def spec(self, job_id: str) -> Path:
        return self.upload_dir(job_id) / SPEC_NAME

    def chunk_dir(self, job_id: str) -> Path:
        return self.temp_dir(job_id) / "chunks"

    def result(self, job_id: str) -> Path:
        return self.root / RESULTS / f"{job_id}.mp4"

    def prepare(self, job_id: str) -> None:
        self.upload_dir(job_id).mkdir(parents=True, exist_ok=True)
        self.chunk_dir(job_id).mkdir(parents=True, exist_ok=True)

    def save_upload(self, job_id: str, upload: BinaryIO, filename: str, limit: int) -> Path:
        """Copy an uploaded target video into the job's folder, refusing it past `limit` bytes; a full disk is
        DiskFull. On failure the caller discards the folder."""
        path = self.target(job_id)
        written = 0
        try:
            with open(path, "wb") as out:
                while chunk := upload.read(CHUNK):
                    written += len(chunk)
                    if written > limit:
                        raise UploadTooLarge(f"{filename} is larger than the {limit / 1024 / 1024:g} MB limit")
                    out.write(chunk)
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFull(f"the disk is full: {filename} could not be stored; nothing was kept") from exc
            raise
        return path

    def sync_target(self, job_id: str) -> None:
        """Flush an accepted upload to the disk: a resume after a power cut needs it whole."""
        with open(self.target(job_id), "rb+") as file:
            os.fsync(file.fileno())

    def discard_work(self, job_id: str) -> None:
        """Remove the upload and any partial output: what a job no longer needs once it ended."""
        shutil.rmtree(self.upload_dir(job_id), ignore_errors=True)
        shutil.rmtree(self.temp_dir(job_id), ignore_errors=True)

    def discard_all(self, job_id: str) -> None:
        self.discard_work(job_id)
        self.result(job_id).unlink(missing_ok=True)

    def discard_orphans(self, keep_results: set[str], keep_work: set[str]) -> None:
        """After a restart: upload and temp folders of jobs not to be resumed, and results no record knows."""
        for folder in (UPLOADS, TEMP):
            for path in (self.root / folder).iterdir():
                if path.name in keep_work and path.is_dir():
                    continue
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        for path in (self.root / RESULTS).iterdir():
            if path.stem not in keep_results:
                path.unlink(missing_ok=True)
