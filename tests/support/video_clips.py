"""Short test clips made with PyAV from the face photos in tests/data: moving, zooming, with sound.

Kept small (a couple of seconds, well under 640x480) because the suite runs on two shared cores.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

DATA = Path(__file__).parents[1] / "data"
TONE_HZ = 440.0
SAMPLE_RATE = 48_000
AUDIO_CHUNK = 1024
VIDEO_CODECS = {
    ".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9", ".avi": "mpeg4", ".y4m": "rawvideo",
}
HEAD_CROPS = {"astronaut.png": (110, 20, 350, 260)}  # x0, y0, x1, y1: head and shoulders, face ~40% wide
AUDIO_CODECS = {".mp4": "aac", ".mov": "pcm_s16le", ".mkv": "aac", ".webm": "libopus", ".avi": "mp3"}


def face_frame(face: np.ndarray, index: int, count: int, size: tuple[int, int]) -> np.ndarray:
    """The face photo over a gradient, sliding left to right and growing (a zoom) over the clip."""
    width, height = size
    t = index / max(count - 1, 1)
    side = int(min(width, height) * (0.78 + 0.17 * t))
    scaled = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = np.linspace(40, 120, width, dtype=np.uint8)[None, :, None]
    x = int((width - side) * (0.2 + 0.6 * t))
    y = (height - side) // 2
    visible = frame[max(y, 0) : y + side, x : x + side]
    visible[:] = scaled[max(-y, 0) : max(-y, 0) + visible.shape[0], : visible.shape[1]]
    return frame


def load_face(name: str) -> np.ndarray:
    image = cv2.imread(str(DATA / name))
    x0, y0, x1, y1 = HEAD_CROPS.get(name, (0, 0, image.shape[1], image.shape[0]))
    return image[y0:y1, x0:x1]


def frame_times(count: int, fps: int, variable: bool) -> list[Fraction]:
    """Presentation times in seconds: regular, or alternating short and long gaps (VFR)."""
    if not variable:
        return [Fraction(i, fps) for i in range(count)]
    gaps = [Fraction(1, fps) * (Fraction(2, 3) if i % 2 else Fraction(4, 3)) for i in range(count)]
    return [sum(gaps[:i], Fraction(0)) for i in range(count)]


def make_clip(
    path: Path,
    *,
    face: str = "astronaut.png",
    size: tuple[int, int] = (400, 300),
    fps: int = 15,
    seconds: float = 2.0,
    audio: bool = True,
    variable_rate: bool = False,
    rotation: int = 0,  # 0, 90 or -90: the display rotation a phone would write
    keyframe_every: int | None = None,  # frames between keyframes (H.264 only); None: the encoder's choice
    crf: int | None = None,  # H.264 quality (higher = smaller file); the codec's default if None
) -> Path:
    """Write a clip whose codecs follow the file extension (H.264/AAC MP4, VP9/Opus WebM, ...)."""
    image = load_face(face)
    count = int(round(seconds * fps))
    time_base = Fraction(1, 1000) if variable_rate else Fraction(1, fps)
    with av.open(str(path), "w") as container:
        options = {"x264-params": f"keyint={keyframe_every}:min-keyint={keyframe_every}:scenecut=0"} if keyframe_every else {}
        if crf:
            options["crf"] = str(crf)
        video = container.add_stream(VIDEO_CODECS[path.suffix], rate=fps, options=options)
        video.width, video.height = (size[1], size[0]) if rotation else size  # stored sideways
        video.pix_fmt = "yuv420p"
        video.time_base = video.codec_context.time_base = time_base
        if rotation:
            video.set_display_rotation(rotation)
        tone = container.add_stream(AUDIO_CODECS[path.suffix], rate=SAMPLE_RATE) if audio else None
        if tone is not None:
            tone.layout = "stereo"
        for index, at in enumerate(frame_times(count, fps, variable_rate)):
            pixels = face_frame(image, index, count, size)
            if rotation:  # store the pixels sideways, as a phone does, for players to turn back
                pixels = cv2.rotate(pixels, cv2.ROTATE_90_CLOCKWISE if rotation == 90 else cv2.ROTATE_90_COUNTERCLOCKWISE)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="bgr24")
            frame.pts = int(at / time_base)
            frame.time_base = time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if tone is not None:
            for chunk in sine_frames(seconds):
                container.mux(tone.encode(chunk))
            container.mux(tone.encode(None))
    return path


def sine_frames(seconds: float) -> list[av.AudioFrame]:
    total = int(seconds * SAMPLE_RATE)
    frames = []
    for start in range(0, total, AUDIO_CHUNK):
        n = min(AUDIO_CHUNK, total - start)
        t = (np.arange(start, start + n) / SAMPLE_RATE).astype(np.float32)
        wave = (0.3 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        frame.time_base = Fraction(1, SAMPLE_RATE)
        frames.append(frame)
    return frames


def top_level_boxes(path: Path) -> list[tuple[bytes, bytes]]:
    """(type, first bytes of the body) of each top-level ISO-BMFF box, in file order."""
    boxes = []
    with open(path, "rb") as handle:
        while len(header := handle.read(8)) == 8:
            size, kind = int.from_bytes(header[:4], "big"), header[4:]
            if size == 1:
                size = int.from_bytes(handle.read(8), "big") - 8
            body_size = size - 8
            head = handle.read(min(body_size, 16))
            boxes.append((kind, head))
            handle.seek(body_size - len(head), 1)
    return boxes


def read_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def frame_times_s(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


def audio_duration_s(path: Path) -> float:
    """Decoded samples / rate: what a listener hears, whatever the container header says."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return sum(frame.samples for frame in container.decode(stream)) / stream.codec_context.sample_rate
