"""Video swap: `POST /swap-video` (answers with the MP4) and the job API for long videos.

Both start the same kind of job, so the synchronous call can be followed live too
(`GET /jobs/{id}/events`, with the id the client chose in `job_id` or `X-Job-Id`). Like
`/swap-image`, a job uses the uploaded source faces and the session's settings and face map.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Annotated
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, FastAPI, File, Form, Header, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.requests import HTTPConnection

from plasticvision.errors import PlasticVisionError
from plasticvision.video.limits import VideoLimits
from plasticvision.video.reader import probe
from plasticvision.server.client_limits import FOLLOWER, client_address
from plasticvision.server.deps import (
    ApiKeyDep,
    ClientLimitsDep,
    DecoderDep,
    ConfigDep,
    RegistryDep,
    SessionDep,
    SessionIdHeader,
    SwapperDep,
    WorkersDep,
    session_id_of,
)
from plasticvision.server.jobs.chunked import video_swap_for
from plasticvision.server.jobs.errors import JobNotReady
from plasticvision.server.jobs.feed import JobFeed
from plasticvision.server.jobs.retention import GB, Retention
from plasticvision.server.jobs.runner import JOB_ID, VideoJobs, check_job_id
from plasticvision.server.jobs.store import JobRecord, JobState
from plasticvision.server.middleware.ratelimit import RateLimitDep
from plasticvision.server.middleware.security import check_api_key
from plasticvision.server.openapi import (
    IMAGE_TYPES,
    VIDEO_TYPES,
    binary_response,
    error_responses,
    event_stream_response,
    upload_fields,
)
from plasticvision.server.sessions.registry import SESSION_ID
from plasticvision.server.one_shot import SourceFiles, one_shot_session

CANCEL_WAIT_S = 10.0
VIDEO_UPLOAD = upload_fields(target_file=VIDEO_TYPES, source_files=IMAGE_TYPES)
JOB_EVENTS = {
    "queued": "the job is waiting for a free runner",
    "progress": "frames done, total, fps, ETA and stage",
    "done": "the last event: the result is ready at /jobs/{job_id}/result",
    "failed": "the last event: `error` says why",
    "cancelled": "the last event: the job was cancelled",
}
MP4 = binary_response("video/mp4", "the swapped video (H.264 MP4, audio kept), labelled synthetic")


class JobsUnavailable(PlasticVisionError):
    type = "jobs_unavailable"


class JobFailed(PlasticVisionError):
    type = "job_failed"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The job runner lives as long as the app: recovery at start, interrupted jobs recorded at stop."""
    config = app.state.config
    swap = video_swap_for(config, app.state.swapper.pool, app.state.swapper.engine.name)
    jobs = app.state.video_jobs = VideoJobs(config.data_dir, config.max_video_jobs, swap)
    retention = Retention(jobs.store, jobs.files, config.result_ttl_s, int(config.max_results_gb * GB))
    retention.start()
    try:
        yield
    finally:
        retention.stop()
        await asyncio.to_thread(jobs.shutdown)


router = APIRouter(tags=["video"], responses=error_responses(404, 409, 415, 503, 507), lifespan=lifespan)


def require_api_key_anywhere(
    config: ConfigDep,
    header: Annotated[str | None, Header(alias="X-API-Key", description="needed when the server has a key")] = None,
    api_key: Annotated[str | None, Query(description="the API key, for clients that cannot send headers")] = None,
) -> None:
    """The key from the header or the query: `EventSource` and `<video src>` cannot send headers."""
    check_api_key(config, header or api_key, "in the X-API-Key header or as ?api_key=")


ApiKeyAnywhereDep = Depends(require_api_key_anywhere)


def get_jobs(connection: HTTPConnection) -> VideoJobs:
    jobs = getattr(connection.app.state, "video_jobs", None)
    if jobs is None:
        raise JobsUnavailable("video jobs are not running: the app was started without its lifespan")
    return jobs


JobsDep = Annotated[VideoJobs, Depends(get_jobs)]


def get_job_owner(
    connection: HTTPConnection,
    registry: RegistryDep,
    header: SessionIdHeader = None,
    session: Annotated[
        str | None,
        Query(
            description="your session id, for clients that cannot send headers",
            json_schema_extra={"pattern": SESSION_ID.pattern},
        ),
    ] = None,
) -> str:
    """The session whose jobs a request may see: jobs are private to the session that started them."""
    return registry.check_id(session_id_of(connection, header or session))


OwnerDep = Annotated[str, Depends(get_job_owner)]
TargetFile = Annotated[UploadFile, File(description="the video (MP4, MOV, WebM, MKV, AVI, ...)")]
JOB_ID_FORMAT = {"pattern": JOB_ID.pattern}  # documented; check_job_id enforces it, naming the rule
JobIdForm = Annotated[
    str | None, Form(description="your id for the job, to follow its events", json_schema_extra=JOB_ID_FORMAT)
]
JobIdHeader = Annotated[
    str | None, Header(alias="X-Job-Id", description="same as the job_id field", json_schema_extra=JOB_ID_FORMAT)
]


async def start_job(
    target_file: TargetFile,
    session: SessionDep,
    owner: OwnerDep,
    swapper: SwapperDep,
    jobs: JobsDep,
    config: ConfigDep,
    decoder: DecoderDep,
    workers: WorkersDep,
    source_files: SourceFiles = None,
    job_id: JobIdForm = None,
    x_job_id: JobIdHeader = None,
) -> str:
    """Reserve the id, take in the uploads, and queue the job; a refused upload leaves a failed record.

    A dependency of both video routes, so they share one set of form fields (and one OpenAPI body).
    """
    job_id = check_job_id(job_id or x_job_id)
    filename = target_file.filename or "video"
    settings = session.settings
    jobs.reserve(job_id, filename, owner)
    try:
        one_shot = await one_shot_session(swapper, session, source_files, decoder, workers)
        target = await workers.run(jobs.files.save_upload, job_id, target_file.file, filename, config.max_video_bytes)
        info = await workers.run(probe, target, filename, VideoLimits(config.max_video_pixels, config.max_video_s))
        one_shot.check_settings(settings)
    except BaseException as exc:
        jobs.reject(job_id, str(exc) if isinstance(exc, PlasticVisionError) else "the upload failed")
        raise
    jobs.start(job_id, one_shot, settings, target, info.frames)
    return job_id


StartedJob = Annotated[str, Depends(start_job)]


@router.post(
    "/swap-video",
    response_class=FileResponse,
    responses=MP4,
    dependencies=[ApiKeyDep, RateLimitDep],
    openapi_extra=VIDEO_UPLOAD,
)
async def swap_video(job_id: StartedJob, jobs: JobsDep) -> FileResponse:
    """Waits for the swap and answers with the MP4; the job stays listed under `X-Job-Id`, and
    `GET /jobs/{job_id}/events` streams its progress meanwhile."""
    record = await jobs.wait(job_id)
    if record.state is not JobState.DONE:
        raise JobFailed(f"the video job {record.state.value}: {record.error}")
    return result_response(jobs, record)


@router.post(
    "/jobs/video",
    status_code=202,
    response_model=JobRecord,
    dependencies=[ApiKeyDep, RateLimitDep],
    openapi_extra=VIDEO_UPLOAD,
)
async def create_video_job(job_id: StartedJob, jobs: JobsDep) -> JSONResponse:
    """Queues the swap and answers at once; follow `/jobs/{job_id}/events`, then fetch `/jobs/{job_id}/result`."""
    return JSONResponse(jobs.get(job_id).to_json(), status_code=202, headers={"Location": f"/jobs/{job_id}"})


@router.get("/jobs", response_model=list[JobRecord], dependencies=[ApiKeyDep])
def list_jobs(jobs: JobsDep, owner: OwnerDep) -> list[JobRecord]:
    """Your session's jobs, newest first, finished ones from earlier runs included."""
    return jobs.all(owner)


@router.get("/jobs/{job_id}", response_model=JobRecord, dependencies=[ApiKeyDep])
def get_job(job_id: str, jobs: JobsDep, owner: OwnerDep) -> JobRecord:
    return jobs.get(job_id, owner)


async def get_feed(job_id: str, jobs: JobsDep, owner: OwnerDep) -> JobFeed:
    """The job's feed; an unknown id (its upload may still be arriving) is a 404 at once, never a wait,
    so a fuzzer or a bad link cannot hold a connection open. Followers retry, as the web app does."""
    return jobs.feed(job_id, owner)


async def follower_slot(connection: HTTPConnection, limits: ClientLimitsDep) -> AsyncIterator[None]:
    """One of the client's event-stream slots, held until the stream ends (`scope="request"`)."""
    with limits.hold(FOLLOWER, client_address(connection)):
        yield


@router.get(
    "/jobs/{job_id}/events",
    response_class=EventSourceResponse,
    responses=event_stream_response("the job's events, ending with its final state", JOB_EVENTS, JobRecord),
    dependencies=[ApiKeyAnywhereDep, Depends(follower_slot, scope="request")],
)
async def job_events(feed: Annotated[JobFeed, Depends(get_feed)]) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events: `queued`, `progress` (frames done, total, fps, ETA, stage), then `done`,
    `failed` or `cancelled` as the last event. Each carries the job record; late followers get them all."""
    async for event in feed.follow():
        yield ServerSentEvent(data=event.data, event=event.name, id=str(event.seq))


def result_response(jobs: VideoJobs, record: JobRecord) -> FileResponse:
    path = jobs.result(record.job_id)
    if record.state is not JobState.DONE or not path.exists():
        raise JobNotReady(f"job {record.job_id} has no result: it is {record.state.value}")
    name = f"{record.filename.rsplit('.', 1)[0] or 'video'}-swapped.mp4"
    return FileResponse(path, media_type="video/mp4", filename=name, headers={"X-Job-Id": record.job_id})


@router.get(
    "/jobs/{job_id}/result",
    response_class=FileResponse,
    responses=binary_response("video/mp4", "the swapped video; 206 for a range request", 206),
    dependencies=[ApiKeyAnywhereDep],
)
def job_result(job_id: str, jobs: JobsDep, owner: OwnerDep) -> FileResponse:
    """The finished MP4; range requests work, so a browser can seek in it."""
    return result_response(jobs, jobs.get(job_id, owner))


@router.delete("/jobs/{job_id}", response_model=JobRecord, dependencies=[ApiKeyDep])
async def delete_job(job_id: str, jobs: JobsDep, owner: OwnerDep) -> JobRecord:
    """Cancels a queued or running job (kept, as cancelled); deletes a finished one and its result."""
    record = jobs.cancel(job_id, owner)
    if record.state.finished:
        return record
    return await jobs.wait(job_id, timeout=CANCEL_WAIT_S)
