"""Response bodies: the seed API's field names, documented in OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, Field

from plasticvision.server.openapi import ErrorBody, Responses, binary_response, error_responses  # noqa: F401
from plasticvision.settings import Settings


class Health(BaseModel):
    status: str = Field(description="'ok' when the server is up")
    gpu: bool = Field(description="whether the engine runs on a GPU")
    engine_ready: bool
    engine: str
    version: str


class DeviceStatus(BaseModel):
    device: str = Field(description="'cuda:0', 'cpu:1', or 'default' (the engine's own provider choice)")
    engine: str
    provider: str = Field(description="the execution provider the replica's models run on")
    streams: int = Field(description="live streams attached to this device")
    active: int = Field(description="frames or images in work right now")
    frames: int = Field(description="frames and images processed since start")
    fps: float = Field(description="frames and images per second, last 10 s")
    busy: float = Field(description="share of the last 10 s spent working, 0-1")
    errors: int = Field(description="unexpected engine failures on this device")
    last_error: str | None = None


class Status(BaseModel):
    gpu: bool
    engine: str
    engine_reason: str = Field(description="why this engine was chosen (auto selection is never silent)")
    providers: list[str]
    provider_warning: str | None = Field(None, description="set when a GPU is present but the models run on the CPU")
    faces_loaded: int = Field(description="source faces in your session")
    settings: Settings = Field(description="your session's settings")
    timings_ms: dict[str, float] = Field(description="median milliseconds per pipeline stage, recent frames")
    stream_ms: dict[str, float] = Field(
        {}, description="live frames' median server ms: wait (for a thread), work (decode+swap+encode), total"
    )
    sessions: int = Field(description="sessions alive, the default one included")
    stream_connections: int
    session_id: str
    devices: list[DeviceStatus] = Field(description="one engine replica per device (`--devices`)")
    models: ModelChoices | None = Field(None, description="the models a session may choose (neural engine)")


class ModelChoices(BaseModel):
    """What a session may pick on this server (neural engine; empty on dlib) and what it gets by default."""

    swappers: list[str] = Field([], description="swappers whose files are present and verified")
    enhancers: list[str] = Field([], description="enhancers whose files are present and verified")
    default_swapper: str | None = Field(None, description="used when a session's `swapper` is null")
    default_enhancer: str | None = Field(None, description="used when `enhance` is on and `enhancer` is null")
    occluder: str | None = Field(None, description="the XSeg model of the `occlusion` mask, if present")
    parser: str | None = Field(None, description="the BiSeNet model of the `region` mask, if present")


class ModelEntry(BaseModel):
    name: str = Field(description="the catalog name, as `swapper`/`enhancer` settings and the CLI take it")
    title: str
    file: str = Field(description="upstream file name, relative to the models dir")
    size: int | None = Field(description="bytes, where the catalog knows it")
    status: str = Field(description="'present', 'missing' or 'unusable' (see `problem`)")
    problem: str | None = Field(None, description="why a file is missing or unusable")
    checksum: str = Field(description="how the file is verified: SHA-256 (+ size) or FaceFusion's CRC32 sidecar")
    licence: str
    commercial: bool = Field(description="whether the licence allows commercial use")
    download: str = Field(description="the command that fetches it")


class ModelsListing(BaseModel):
    engine: str
    checksums: bool = Field(description="false when PLASTICVISION_MODEL_CHECKSUMS=off (hand-placed files)")
    roles: dict[str, list[ModelEntry]] = Field(description="detector, recognizer, swapper, enhancer, occluder, "
                                                            "parser, converter")
    choices: ModelChoices


class DetectedFace(BaseModel):
    id: str = Field(description="what `POST /face-map` takes as `face_id`")
    box: list[float] = Field(description="x0, y0, x1, y1 in pixels")
    score: float
    landmarks_5: list[list[float]] = Field(description="eyes, nose tip, mouth corners: [x, y] each")
    landmarks_68: list[list[float]] | None = Field(None, description="the 68-point landmarks, when the engine has them")


class Detections(BaseModel):
    """`POST /detect-faces?format=json`: the faces found, largest first."""

    count: int
    faces: list[DetectedFace]


class UploadResult(BaseModel):
    success: bool
    count: int
    message: str


class SettingsResult(BaseModel):
    success: bool
    settings: Settings


ERROR_RESPONSES = error_responses(404, 409, 415, 503)  # what a plain JSON route may answer


def png_response(description: str) -> Responses:
    """OpenAPI for a route that answers with a PNG image."""
    return binary_response("image/png", description)

