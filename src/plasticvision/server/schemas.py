"""Response bodies: the seed API's field names, documented in OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, Field

from plasticvision.settings import Settings


class Health(BaseModel):
    status: str = Field(description="'ok' when the server is up")
    gpu: bool = Field(description="whether the engine runs on a GPU")
    engine_ready: bool
    engine: str
    version: str


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


class UploadResult(BaseModel):
    success: bool
    count: int
    message: str


class SettingsResult(BaseModel):
    success: bool
    settings: Settings


class ErrorBody(BaseModel):
    detail: str


ERROR_RESPONSES: dict[int | str, dict] = {
    code: {"model": ErrorBody} for code in (401, 403, 409, 413, 415, 422, 429)
}


def png_response(description: str) -> dict[int | str, dict]:
    """OpenAPI for a route that answers with a PNG image."""
    return {200: {"content": {"image/png": {}}, "description": description}}
