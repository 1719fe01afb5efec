"""Where a job's files live under the data dir, and the clean-up that leaves no debris.

    data_dir/jobs.sqlite3       the records
    data_dir/uploads/<id>/      the uploaded target video, deleted when the job ends
    data_dir/tmp/<id>/          the encoder's partial output, deleted when the job ends
    data_dir/results/<id>.mp4   finished videos, kept until the job is deleted

Everything is on one disk, so a finished result is renamed into place, never copied.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import BinaryIO

from plasticvision.server.uploads import UploadTooLarge

UPLOADS, TEMP, RESULTS = "uploads", "tmp", "results"
DATABASE = "jobs.sqlite3"
CHUNK = 1024 * 1024
UPLOAD_NAME = "target.upload"  # our own name: FFmpeg must never pick a demuxer (HLS, concat) from the client's suffix


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

    def result(self, job_id: str) -> Path:
        return self.root / RESULTS / f"{job_id}.mp4"

    def prepare(self, job_id: str) -> None:
        self.upload_dir(job_id).mkdir(parents=True, exist_ok=True)
        self.temp_dir(job_id).mkdir(parents=True, exist_ok=True)

    def save_upload(self, job_id: str, upload: BinaryIO, filename: str, limit: int) -> Path:
        """Copy an uploaded target video into the job's folder, refusing it past `limit` bytes."""
        path = self.upload_dir(job_id) / UPLOAD_NAME
        written = 0
        with open(path, "wb") as out:
            while chunk := upload.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise UploadTooLarge(f"{filename} is larger than the {limit / 1024 / 1024:g} MB limit")
                out.write(chunk)
        return path

    def discard_work(self, job_id: str) -> None:
        """Remove the upload and any partial output: what a job no longer needs once it ended."""
        shutil.rmtree(self.upload_dir(job_id), ignore_errors=True)
        shutil.rmtree(self.temp_dir(job_id), ignore_errors=True)

    def discard_all(self, job_id: str) -> None:
        self.discard_work(job_id)
        self.result(job_id).unlink(missing_ok=True)

    def discard_orphans(self, keep: set[str]) -> None:
        """After a restart: every upload and temp folder, and results of jobs no record knows."""
        for folder in (UPLOADS, TEMP):
            for path in (self.root / folder).iterdir():
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        for path in (self.root / RESULTS).iterdir():
            if path.stem not in keep:
                path.unlink(missing_ok=True)
