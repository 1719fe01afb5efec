"""Watermark bench: per-frame detection after the attacks a stream meets, false positives, cost, PSNR.

There are no real video clips in the repository, so the clips are made from the real photos
in tests/data: `talking` (a head moving a little over a still background, as a webcam or a
talking-head video shows it), `astronaut` (the whole picture drifting and zooming, as a handheld
camera: bench/clip.py) and `group` (the six-person photo t1.jpg, panned and zoomed, every face
swapped). Each frame gets webcam-like
sensor noise and the browser's JPEG q70, then goes through the live path (`LiveStream`, dlib
engine, Tom Hanks as the source) twice: once marked, once with a no-op marker (the unmarked
twin for PSNR and for false positives). The marked output then meets each attack:

    stream    the WebSocket's own JPEG q80 (every attack below starts from it)
    jpeg50    JPEG quality 50
    h264      the whole clip through libx264 at CRF 28 (yuv420p)
    vp8       the whole clip through libvpx (VP8) at 1 Mbit/s
    half      scaled to half size (INTER_AREA)
    crop10    10 % cut off (5 % on every side: the tile phase moves)
    vcam      a virtual camera into a call: I420 round trip, 0.75x, JPEG q70
    half+jpeg half size, then JPEG q75

False positives: the unmarked twins under the same attacks, the raw input frames, and the other
photos of tests/data at three sizes. Every detection searches every scale (no carry-over).
The "windows" columns are what `verify` reports for a video, by its own `detect_window`: a run of
WINDOW consecutive frames counts when every frame of it is found (their whitened luma averaged,
or each frame alone when the average holds no mark), beside the single-frame rates; a window of
the unmarked twins counts as a false positive when any frame of it is found.

    python -m bench.watermark_bench [--frames 40] [--workers 2] [--scores scores.json] [--clip real.mp4 ...]
                                    [--attacks h264,crop10,...]

`--clip` measures real videos instead (their first `--frames` frames as they are, every face
swapped): a talking-head clip is the case that matters most, and none can ship with the repo.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from bench.clip import SIZE, load, placement, render, smooth_clip
from plasticvision.engines.dlib.engine import DlibEngine
from plasticvision.pipeline.session import SwapSession
from plasticvision.provenance.detect import SPREAD_THRESHOLD, THRESHOLD, THRESHOLD_WITH_PAYLOAD, detect, whiten
from plasticvision.provenance.verify import WINDOW, detect_window
from plasticvision.provenance.watermark import Watermarker
from plasticvision.settings import Settings
from tests.support.unmarked import Unmarked

INSTALL = 0x5A17C3
FPS = 30


def read_clip(path: Path, frames: int) -> list[np.ndarray]:
    """The first `frames` frames of a real video, as they are (a video swap's input)."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for _, frame in zip(range(frames), container.decode(video=0))]


def talking_clip(frames: int) -> list[np.ndarray]:
    """A head swaying (+-10 px, 3 s) and nodding (+-5 px, 2.2 s) over a still background: the photo
    fixed, a smooth local warp around the face, as a webcam on a desk sees a speaker."""
    still = render(load("astronaut.png"), [placement(1.6, (320, 220))], "still").frames[0]
    rows, cols = np.mgrid[0 : SIZE[1], 0 : SIZE[0]].astype(np.float32)
    head = np.exp(-(((cols - 320) / 130) ** 2 + ((rows - 230) / 170) ** 2)).astype(np.float32)
    out = []
    for t in np.arange(frames) / FPS:
        dx, dy = float(10 * np.sin(2 * np.pi * t / 3)), float(5 * np.sin(2 * np.pi * t / 2.2))
        out.append(cv2.remap(still, cols - head * dx, rows - head * dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return out


def group_clip(frames: int) -> list[np.ndarray]:
    """A slow pan and zoom over the six-person photo: faces of 60-110 px in a 640x480 frame."""
    photo = load("t1.jpg")
    t = np.arange(frames) / FPS
    matrices = []
    for ti in t:
        scale = 0.75 + 0.1 * np.sin(2 * np.pi * ti / 5)
        cx, cy = 640 * scale - 320 + 120 * np.sin(2 * np.pi * ti / 6), 443 * scale - 240
        matrices.append(np.array([[scale, 0, -cx], [0, scale, -cy]], np.float64))
    return render(photo, matrices, "group").frames


def webcam(frames: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """Sensor noise (sigma 2) and the browser's JPEG q70, as a real stream arrives."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in frames:
        noisy = np.clip(frame + rng.normal(0, 2.0, frame.shape), 0, 255).astype(np.uint8)
        out.append(jpeg(noisy, 70))
    return out


def jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)


def through_codec(frames: list[np.ndarray], codec: str, options: dict[str, str], bit_rate: int | None = None) -> list[np.ndarray]:
    """Encode the clip with PyAV and decode it back (yuv420p, as players and platforms do)."""
    buffer = io.BytesIO()
    container_format = "webm" if codec == "libvpx" else "mp4"
    with av.open(buffer, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=FPS)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = options
        if bit_rate:
            stream.bit_rate = bit_rate
        stream.codec_context.time_base = Fraction(1, FPS)
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def crop10(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return frame[h // 20 : h - h // 20, w // 20 : w - w // 20]


def vcam(frame: np.ndarray) -> np.ndarray:
    i420 = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420), cv2.COLOR_YUV2BGR_I420)
    return jpeg(cv2.resize(i420, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA), 70)


def half(frame: np.ndarray) -> np.ndarray:
    return cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


ATTACKS = {
    "stream": lambda clip: clip,
    "jpeg50": lambda clip: [jpeg(f, 50) for f in clip],
    "h264": lambda clip: through_codec(clip, "libx264", {"crf": "28", "preset": "veryfast"}),
    "vp8": lambda clip: through_codec(clip, "libvpx", {"deadline": "realtime", "cpu-used": "8"}, 1_000_000),
    "half": lambda clip: [half(f) for f in clip],
    "crop10": lambda clip: [crop10(f) for f in clip],
    "vcam": lambda clip: [vcam(f) for f in clip],
    "half+jpeg": lambda clip: [jpeg(half(f), 75) for f in clip],
}


def attack_names(text: str) -> list[str]:
    names = text.split(",")
    if unknown := [name for name in names if name not in ATTACKS]:
        raise argparse.ArgumentTypeError(f"unknown attack {', '.join(unknown)}: choose from {', '.join(ATTACKS)}")
    return names


def attacks(stream: list[np.ndarray], names: list[str]) -> dict[str, list[np.ndarray]]:
    return {name: ATTACKS[name](stream) for name in names}


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    diff = (a.astype(np.float64) - b)[where] if where is not None else a.astype(np.float64) - b
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def run_clip(engine: DlibEngine, name: str, frames: list[np.ndarray], settings: Settings) -> dict:
    marked_session = SwapSession(engine, marker=Watermarker(INSTALL))
    plain_session = SwapSession(engine, marker=Unmarked())  # the twin every marked frame is compared with
    for session in (marked_session, plain_session):
        session.set_sources([load("Tom_Hanks_54745.png")])
    marked_stream, plain_stream = marked_session.stream(settings), plain_session.stream(settings)
    marked, plain, cost, total, psnr_frame, psnr_box = [], [], [], [], [], []
    for frame in frames:
        sent = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 70])[1]
        started = time.perf_counter()
        received = cv2.imdecode(sent, cv2.IMREAD_COLOR)
        report = marked_stream.swap(received)
        reply = cv2.imencode(".jpg", report.frame, [cv2.IMWRITE_JPEG_QUALITY, 80])[1]
        live_ms = 1000 * (time.perf_counter() - started)  # what the server spends on a live frame
        twin = plain_stream.swap(received).frame
        marked.append(cv2.imdecode(reply, cv2.IMREAD_COLOR))
        plain.append(jpeg(twin, 80))
        if report.faces_swapped:
            cost.append(report.timings_ms.get("watermark", 0.0))
            total.append(live_ms)
            changed = np.any(report.frame != twin, axis=2)
            psnr_frame.append(psnr(report.frame, twin))
            psnr_box.append(psnr(report.frame, twin, changed))
    return {
        "name": name,
        "marked": marked,
        "plain": plain,
        "raw": frames,
        "cost_ms": cost,
        "frame_ms": total,
        "psnr_frame": psnr_frame,
        "psnr_marked_pixels": psnr_box,
    }


def score(frame: np.ndarray) -> tuple[bool, float, bool, float]:
    found = detect(frame)
    return found.marked, found.score, found.install == INSTALL, found.spread


def window_hits(frames: list[np.ndarray]) -> list[int]:
    """`verify`'s own window search (`detect_window`) on each run of WINDOW consecutive frames: how many
    of the run's frames it finds marked."""
    runs = range(0, len(frames) - WINDOW + 1, WINDOW)
    return [detect_window([whiten(f) for f in frames[i : i + WINDOW]], None)[1] for i in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=40, help="frames per clip")
    parser.add_argument("--workers", type=int, default=2, help="processes for detection")
    parser.add_argument("--scores", type=Path, help="write every score here (JSON), to study other thresholds")
    parser.add_argument("--clip", type=Path, action="append", help="a real video to measure instead of the synthetic clips (repeat)")
    parser.add_argument("--attacks", type=attack_names, default=list(ATTACKS),
                        help=f"comma-separated, of: {', '.join(ATTACKS)} (default: all)")
    args = parser.parse_args()

    engine = DlibEngine()
    if args.clip:
        clips = [run_clip(engine, path.stem[:12], read_clip(path, args.frames), Settings(swap_all=True)) for path in args.clip]
    else:
        clips = [
            run_clip(engine, "talking", webcam(talking_clip(args.frames), 3), Settings()),
            run_clip(engine, "astronaut", webcam(smooth_clip(load("astronaut.png"), args.frames).frames, 1), Settings()),
            run_clip(engine, "group", webcam(group_clip(args.frames), 2), Settings(swap_all=True)),
        ]
    negatives: list[np.ndarray] = []
    for name in ("chelsea.png", "coffee.png", "camera.png", "mask_white.jpg", "mask_blue.jpg", "astronaut.png", "t1.jpg"):
        photo = load(name)
        negatives += [photo, half(photo), jpeg(cv2.resize(photo, SIZE), 80)]

    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        print(f"{'attack':<11}" + "".join(f"{c['name'] + ' detected':>22}" for c in clips) + f"{'payload read':>14}"
              + "".join(f"{c['name'] + ' windows':>20}" for c in clips))
        window_false: list[bool] = []
        unmarked: list[tuple[bool, float, bool, float]] = []  # `score` of every unmarked frame
        checked = 0
        dump: dict[str, list[float]] = {}
        for clip in clips:
            clip["attacked"] = attacks(clip["marked"], args.attacks)
            clip["attacked_plain"] = attacks(clip["plain"], args.attacks)
        for attack in clips[0]["attacked"]:
            row, payload = f"{attack:<11}", []
            for clip in clips:
                results = list(pool.map(score, clip["attacked"][attack], chunksize=4))
                dump[f"{clip['name']}/{attack}"] = [[r[1], r[3]] for r in results]
                hits = sum(r[0] for r in results)
                payload += [r[2] for r in results]
                row += f"{hits:>12}/{len(results):<3} {100 * hits / len(results):5.1f}%"
                unmarked += pool.map(score, clip["attacked_plain"][attack], chunksize=4)
                checked += len(results)
            windows = [[hits == WINDOW for hits in run] for run in pool.map(window_hits, [clip["attacked"][attack] for clip in clips])]
            window_false += [hits > 0 for run in pool.map(window_hits, [clip["attacked_plain"][attack] for clip in clips]) for hits in run]
            print(row + f"{100 * np.mean(payload):>13.1f}%" + "".join(f"{sum(w):>12}/{len(w):<3}{100 * np.mean(w):4.0f}%" for w in windows))
        extra = [f for clip in clips for f in clip["raw"]] + negatives
        unmarked += pool.map(score, extra, chunksize=4)
    detect_s = (time.perf_counter() - started) / (checked + len(unmarked)) * args.workers

    false_hits = sum(r[0] for r in unmarked)
    scores, spreads = np.array([r[1] for r in unmarked]), np.array([r[3] for r in unmarked])
    if args.scores:
        args.scores.write_text(json.dumps({"marked": dump, "unmarked": [[r[1], r[3]] for r in unmarked]}))
    print(f"\nfalse positives: {false_hits} of {len(scores)} unmarked frames "
          f"(score max {scores.max():.2f}, p99 {np.percentile(scores, 99):.2f}; "
          f"threshold {THRESHOLD} alone, {THRESHOLD_WITH_PAYLOAD} with a valid payload CRC; windows together: spread max "
          f"{spreads.max():.2f}, p99 {np.percentile(spreads, 99):.2f}, threshold {SPREAD_THRESHOLD})")
    print(f"windows of {WINDOW} frames on the unmarked twins: {sum(window_false)} of {len(window_false)} found")
    mu, beta = gumbel_fit(scores)
    print(f"  Gumbel fit of unmarked scores: P(score >= {THRESHOLD}) = {gumbel_tail(THRESHOLD, mu, beta):.2e}, "
          f"P(score >= {THRESHOLD_WITH_PAYLOAD}) x 2^-8 = {gumbel_tail(THRESHOLD_WITH_PAYLOAD, mu, beta) / 256:.2e}, "
          f"P(spread >= {SPREAD_THRESHOLD}) = {gumbel_tail(SPREAD_THRESHOLD, *gumbel_fit(spreads)):.2e}")
    for clip in clips:
        cost, total = np.array(clip["cost_ms"]), np.array(clip["frame_ms"])
        print(f"{clip['name']}: watermark {np.median(cost):.2f} ms median (p95 {np.percentile(cost, 95):.2f}) of a "
              f"{np.median(total):.1f} ms live frame (JPEG in, swap, JPEG out) = {100 * np.median(cost / total):.1f} % "
              f"(of the whole clip's time {100 * cost.sum() / total.sum():.1f} %); PSNR frame "
              f"{np.median(clip['psnr_frame']):.2f} dB (min {np.min(clip['psnr_frame']):.2f}), marked pixels "
              f"{np.median(clip['psnr_marked_pixels']):.1f} dB")
    print(f"detection: {detect_s:.2f} s per frame per process (full scale search)")


def gumbel_fit(scores: np.ndarray) -> tuple[float, float]:
    """Method-of-moments Gumbel (maxima) fit: the score is a maximum over many correlations."""
    beta = float(np.std(scores) * np.sqrt(6) / np.pi)
    return float(np.mean(scores) - 0.5772 * beta), beta


def gumbel_tail(x: float, mu: float, beta: float) -> float:
    return float(1 - np.exp(-np.exp(-(x - mu) / beta)))


if __name__ == "__main__":
    main()
