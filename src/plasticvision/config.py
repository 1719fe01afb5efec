"""Server settings from `PLASTICVISION_*` environment variables (and CLI flags), validated once.

`get_settings()` is cached and injected as a FastAPI dependency, so tests override it
instead of patching globals.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from platformdirs import user_cache_path, user_data_path
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from plasticvision.models.store import ModelStore


PLACEHOLDER_PREFIX = "change-me"


class ServerConfig(BaseSettings):
    # systemd's LoadCredential=PLASTICVISION_API_KEY:/etc/plasticvision/api_key puts secrets in files
    # under $CREDENTIALS_DIRECTORY, where no `systemctl show` or /proc/PID/environ can read them.
    model_config = SettingsConfigDict(
        env_prefix="PLASTICVISION_", extra="ignore", secrets_dir=os.environ.get("CREDENTIALS_DIRECTORY")
    )

    engine: str = Field("auto", pattern="^(auto|dlib|inswapper)$")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    models_dir: Path = Field(default_factory=lambda: user_cache_path("plasticvision") / "models")
    data_dir: Path = Field(default_factory=lambda: user_data_path("plasticvision"))
    model_checksums: bool = True
    model_mirror: str | None = None

    cors_origins: list[str] = Field(
        default_factory=list, description="other origins whose pages may call the API; none = same origin only"
    )
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Host names this server answers to; none = local names when on loopback"
    )
    public_without_key: bool = Field(False, description="listen on a public address without an API key, on purpose")
    api_key: str | None = None
    session_secret: str | None = Field(None, description="signs session ids; replicas share it (default: from the key)")

    max_upload_mb: float = Field(50.0, gt=0)
    max_files: int = Field(10, ge=1, le=100)
    max_image_pixels: int = Field(40_000_000, ge=10_000)
    max_ws_message_mb: float = Field(4.0, gt=0)
    max_ws_connections: int = Field(32, ge=1)
    max_ws_per_session: int = Field(4, ge=1)
    max_sessions: int = Field(256, ge=1)
    session_idle_s: float = Field(1800.0, gt=0)
    max_video_jobs: int = Field(1, ge=1)
    max_video_mb: float = Field(2048.0, gt=0, description="per uploaded video, streamed to disk")
    max_video_s: float = Field(3600.0, gt=0, description="declared duration; frames at most this x 120 fps")
    max_video_pixels: int = Field(3840 * 2160, ge=10_000, description="declared pixels per frame (4K)")
    result_ttl_s: float = Field(86400.0, gt=0, description="finished jobs and their results are deleted after this")
    max_results_gb: float = Field(10.0, gt=0, description="results folder budget, oldest deleted first")
    require_session: bool | None = Field(None, description="refuse ids the server did not issue; none = when keyed")
    max_json_kb: float = Field(16.0, gt=0, description="body limit of the JSON routes")
    max_stream_pixels: int = Field(3840 * 2160, ge=10_000, description="pixels per live-stream frame")
    max_request_pixels: int = Field(120_000_000, ge=10_000, description="pixels decoded per request, all files")
    max_sessions_per_client: int = Field(64, ge=1, description="sessions issued to one address within the idle time")
    max_streams_per_client: int = Field(4, ge=1, description="live streams one address may hold open")
    max_followers_per_client: int = Field(8, ge=1, description="event streams (SSE) one address may follow")
    settings_messages_per_s: float = Field(10.0, gt=0, description="settings changes per second on one stream")
    max_video_queue: int = Field(16, ge=1, description="video jobs queued, resuming or running at once")
    max_video_jobs_per_client: int = Field(4, ge=1, description="active video jobs per session and per address")
    max_video_gb_per_client: float = Field(8.0, gt=0, description="uploads and results on disk per session and address")
    min_free_mb: float = Field(256.0, ge=0, description="kept free on the data dir and TMPDIR after an upload")
    rate_limit: str | None = Field(
        None, pattern=r"^\d+/(second|minute|hour)$", description="uploads and swaps per client address: '30/minute'"
    )
    upload_min_kbps: float = Field(16.0, gt=0, description="slowest average body rate once the grace time is over")
    upload_grace_s: float = Field(10.0, gt=0, description="seconds a body may take before its rate is checked")
    upload_window_s: float = Field(10.0, gt=0, description="the rate is the bytes of the last this many seconds")
    upload_deadline_s: float = Field(1800.0, gt=0, description="no request body may take longer, however fast")
    workers: int = Field(0, ge=0, description="frame-processing threads; 0 = one per CPU core")
    stream_parallel_frames: int = Field(2, ge=1, le=8, description="frames of one stream swapped at once")
    devices: str = Field("auto", description="engine replicas: 'auto' (every CUDA device, else one), '0,1', 'cpu:2'")
    ray_address: str | None = Field(None, description="run video chunks on this Ray cluster ('auto', 'ray://head:10001')")
    video_chunk_s: float = Field(
        4.0, gt=0, description="video chunk length in seconds: the work a crash can lose, and the shortest split"
    )

    @field_validator("devices")
    @classmethod
    def _check_devices(cls, value: str) -> str:
        from plasticvision.engines.devices import parse_devices

        if value.strip().lower() not in ("", "auto"):
            parse_devices(value)  # raises BadDeviceSpec (a ValueError) with the reason
        return value

    ice_servers: list[str] = Field(
        [], description="STUN/TURN URLs WebRTC clients are told to use (`turn:turn.example.org:3478`)"
    )
    turn_secret: str | None = Field(None, description="coturn's static-auth-secret: TURN credentials per answer")
    redis_url: str | None = Field(None, description="keep sessions in Redis (many replicas); none = in memory")
    metrics_token: str | None = Field(None, description="bearer token for GET /metrics; none = the API key")
    log_format: str = Field("text", pattern="^(text|json)$")
    malloc_arenas: int = Field(2, ge=0, description="glibc malloc arenas for `serve`; 0 = glibc's default")

    @field_validator("api_key", "metrics_token", "session_secret", "turn_secret")
    @classmethod
    def _refuse_placeholders(cls, value: str | None) -> str | None:
        """The sample env file's `change-me...` values are public: starting with one is starting without one."""
        if value and value.strip().lower().startswith(PLACEHOLDER_PREFIX):
            raise ValueError(f"'{PLACEHOLDER_PREFIX}...' is the example file's placeholder: set a secret of your own")
        return value or None

    @field_validator("redis_url")
    @classmethod
    def _refuse_placeholder_password(cls, value: str | None) -> str | None:
        if value and PLACEHOLDER_PREFIX in value.lower():
            raise ValueError(f"the Redis URL still has the example file's '{PLACEHOLDER_PREFIX}...' password")
        return value

    @property
    def sessions_required(self) -> bool:
        """Only server-issued session ids: the default whenever the server has a key."""
        return bool(self.api_key) if self.require_session is None else self.require_session

    @property
    def max_json_bytes(self) -> int:
        return int(self.max_json_kb * 1024)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_video_bytes(self) -> int:
        return int(self.max_video_mb * 1024 * 1024)

    @property
    def max_ws_message_bytes(self) -> int:
        return int(self.max_ws_message_mb * 1024 * 1024)


@lru_cache
def get_settings() -> ServerConfig:
    return ServerConfig()


def model_store(models_dir: str | Path | None = None) -> ModelStore:
    """The models dir the `PLASTICVISION_*` settings describe; an explicit `models_dir` wins."""
    config = get_settings()
    return ModelStore(models_dir or config.models_dir, checksums=config.model_checksums, mirror=config.model_mirror)
