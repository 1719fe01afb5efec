"""Schemathesis over the server's own OpenAPI document, against a real uvicorn: zero failures.

Every operation gets positive and negative cases (valid and invalid by the schema), bounded
for CI by `PLASTICVISION_FUZZ_EXAMPLES` per operation and mode and by a time cap per
operation; each response must not be a 5xx and must match what the document says about its
status code, media type and body. The file fields get real images and a real video clip (the
document names their media types), so valid cases reach the routes' success paths rather than
a 415. The streaming endpoints (SSE, results) answer unknown ids at once, so the fuzzer never
waits on them; a real job's event stream is checked against the document's events separately.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.live_uvicorn import serving
from tests.support.video_clips import DATA, load_face, make_clip

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("PLASTICVISION_FUZZ_EXAMPLES", "12"))
CAP_PER_OPERATION_S = 20.0  # the fuzzer stops generating for an operation after this (CI has 2 cores)
MIN_CASES = 100  # fewer means operations went missing from the run
# operations that take files: their valid cases (real images and clips) must reach a success sometimes
UPLOADS = (
    "POST /upload-source-faces",
    "POST /detect-faces",
    "POST /identities",
    "POST /swap-image",
    "POST /swap-video",
    "POST /jobs/video",
)


@schemathesis.serializer("application/sdp", "application/trickle-ice-sdpfrag")
def sdp_serializer(context, value) -> dict:  # noqa: ANN001
    """WHIP/WHEP offers and trickled ICE fragments are SDP text: send whatever the fuzzer drew as the body."""
    return {"data": value if isinstance(value, bytes) else str(value).encode()}


def small(image: np.ndarray, side: int = 128) -> np.ndarray:
    scale = side / max(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image


def register_real_files(tmp_path: Path) -> None:
    """Strategies for the media types the document gives the file fields: a face, a photo without
    one, or noise, as JPEG or PNG; a short H.264 clip of a face for the videos."""
    face = st.just(small(load_face("astronaut.png"), 200))
    no_face = st.just(small(cv2.imread(str(DATA / "chelsea.png"))))
    noise = st.tuples(st.integers(8, 64), st.integers(8, 64), st.integers(0, 2**32 - 1)).map(
        lambda shape: np.random.default_rng(shape[2]).integers(0, 256, (*shape[:2], 3), dtype=np.uint8)
    )
    images = st.one_of(face, face, no_face, noise)
    for media_type, extension in (("image/jpeg", ".jpg"), ("image/png", ".png")):
        schemathesis.openapi.media_type(media_type, images.map(lambda image, ext=extension: encode(ext, image)))
    clip = make_clip(tmp_path / "face.mp4", size=(128, 96), fps=10, seconds=0.3, audio=False)
    schemathesis.openapi.media_type("video/mp4", st.just(clip.read_bytes()))


def map_a_face(base_url: str) -> None:
    """A face map on the default session, so a swap without `source_files` is valid, as documented."""
    face = encode(".png", small(load_face("astronaut.png"), 200))
    with httpx.Client(base_url=base_url, timeout=60) as client:
        assert client.post("/identities", data={"name": "me"}, files={"files": ("me.png", face)}).status_code == 201
        assert client.post("/face-map", data={"identity": "me"}, files={"reference": ("x.png", face)}).status_code == 201


def array_of_files_fields(operation) -> set[str]:
    """The multipart fields that take several files (`files`, `source_files`)."""
    body = next((body for body in operation.body if body.media_type == "multipart/form-data"), None)
    if body is None:
        return set()
    return {name for name, field in body.form_properties.items() if field.get("items", {}).get("format") == "binary"}


def as_file_lists(case, fields: set[str]) -> None:
    """Schemathesis fills an array field that has an `encoding` media type with one value, not a list,
    and then sends it as a text part; the document says "one or more files", so send a list of one."""
    if isinstance(case.body, dict):
        for name in fields & case.body.keys():
            if isinstance(case.body[name], bytes):
                case.body[name] = [case.body[name]]


def encode(extension: str, image: np.ndarray) -> bytes:
    return cv2.imencode(extension, image)[1].tobytes()


def fuzz_operation(operation, base_url: str, mode: GenerationMode, deadline: float, statuses: list[int]) -> int:
    """Run up to EXAMPLES cases of one operation, adding each answer's status to `statuses`; returns how many ran."""
    ran = 0
    file_lists = array_of_files_fields(operation)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        nonlocal ran
        if time.monotonic() > deadline:
            return
        ran += 1
        as_file_lists(case, file_lists)
        statuses.append(case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=30).status_code)

    try:
        run()
    except Unsatisfiable:
        if mode is not GenerationMode.NEGATIVE:
            raise  # an operation without parameters has no invalid input to try
    return ran


@pytest.mark.slow
def test_the_api_keeps_its_openapi_promises_under_fuzzing(make_app, capsys, tmp_path):
    register_real_files(tmp_path)
    app = make_app(max_upload_mb=2, upload_grace_s=5)
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14, [op.label for op in operations]
    counts: dict[str, int] = {}
    accepted: dict[str, int] = {}  # valid cases answered with a 2xx
    seconds: dict[str, float] = {}
    with serving(app) as base_url:
        for operation in operations:
            if operation.label in UPLOADS:
                map_a_face(base_url)  # the fuzzer may have cleared the map since
            deadline = time.monotonic() + CAP_PER_OPERATION_S
            valid: list[int] = []
            counts[operation.label] = fuzz_operation(operation, base_url, GenerationMode.POSITIVE, deadline, valid)
            counts[operation.label] += fuzz_operation(operation, base_url, GenerationMode.NEGATIVE, deadline, [])
            accepted[operation.label] = sum(200 <= status < 300 for status in valid)
            seconds[operation.label] = round(CAP_PER_OPERATION_S - (deadline - time.monotonic()), 1)
    total = sum(counts.values())
    with capsys.disabled():
        print(f"\nschemathesis: {total} cases over {len(counts)} operations, 0 failures: {counts}")
        print(f"valid cases accepted (2xx): {accepted}")
        print(f"seconds per operation: {seconds}")
    assert total >= MIN_CASES, counts
    refused = [label for label in UPLOADS if not accepted[label]]
    assert not refused, f"no valid case was accepted: the document promises more than {refused} take"


def sse_events(text: str) -> list[dict[str, str]]:
    """`event:` / `data:` / `id:` fields of each event in a text/event-stream body."""
    events = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(":")
            if name and not line.startswith(":"):
                fields[name] = fields.get(name, "") + value.removeprefix(" ")
        if fields:
            events.append(fields)
    return events


@pytest.mark.slow
def test_a_jobs_event_stream_is_what_the_document_says(make_app, tmp_path):
    """The fuzzer only ever sees unknown job ids here (a 404), so a real job's stream is read and each
    event held to the document: a named event, its `data` a JobRecord."""
    app = make_app()
    document = app.openapi()
    item = document["paths"]["/jobs/{job_id}/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    variants = {variant["properties"]["event"]["const"]: variant for variant in item["itemSchema"]["oneOf"]}
    clip = make_clip(tmp_path / "face.mp4", size=(128, 96), fps=10, seconds=0.3, audio=False)
    face = encode(".png", small(load_face("astronaut.png"), 200))
    with serving(app) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        files = [("target_file", ("face.mp4", clip.read_bytes(), "video/mp4")), ("source_files", ("me.png", face, "image/png"))]
        assert client.post("/jobs/video", files=files, data={"job_id": "followed"}).status_code == 202
        with client.stream("GET", "/jobs/followed/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse_events(response.read().decode())
    names = [event["event"] for event in events]
    assert names[0] == "queued" and names[-1] == "done", names
    for event in events:
        variant = variants[event["event"]]  # a KeyError is an event the document does not name
        data_schema = {**variant["properties"]["data"]["contentSchema"], "components": document["components"]}
        Draft202012Validator(data_schema).validate(json.loads(event["data"]))
        Draft202012Validator(item["itemSchema"]).validate({**event, "data": event["data"]})
