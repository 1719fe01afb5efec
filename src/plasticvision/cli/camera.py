"""`camera`: a camera or video in, the swapped stream out as a virtual webcam, a window or an MP4.

Only wiring: a frame source (camera.sources), a swapper (in-process or a server) and a sink
(camera.sinks) from the flags, joined by camera.loop. Everything that can fail quickly (the
source images, the input, the output device or file) is opened before the engine loads or
the server is contacted.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from contextlib import ExitStack

from plasticvision.cli.options import add_engine_flag, add_settings_flags, settings_from_args
from plasticvision.media.images import read_image

DEFAULT_CAMERA_SIZE = "640x480"
DEFAULT_CAMERA_FPS = 30.0
LIVE_OUTPUTS = ("virtual", "window")
# Frames in flight when every frame of a file must come back: one. A server swaps a connection's
# frames in parallel and drops any frame a later one overtook, and a frame waiting there is
# replaced by the next to arrive: both are right for a camera, and lose frames of a file.
EVERY_FRAME_IN_FLIGHT = 1
LIVE_IN_FLIGHT = 8  # a camera: the client's pacer picks how many the link and server need, up to this


def register(commands: argparse._SubParsersAction) -> None:
    camera = commands.add_parser(
        "camera",
        help="the swapped stream as a virtual webcam (OBS, Zoom, Meet, Discord), a window or an MP4",
        description="Swap faces in a camera or video and send the result to a virtual camera, a window or a "
        "file. Ctrl-C stops (an MP4 output is finished, not lost).",
    )
    camera.add_argument(
        "--input",
        "-i",
        default="0",
        help="camera index (0), device path, stream URL, or a video / Y4M file (default: 0)",
    )
    camera.add_argument("--source", "-s", action="append", help="source face image (repeat up to 10; required but with --whep)")
    where = camera.add_mutually_exclusive_group()
    where.add_argument("--server", metavar="URL", help="swap on a PlasticVision server (e.g. http://gpu-box:8000)")
    where.add_argument(
        "--whep",
        metavar="URL",
        help="play a session's swapped video from a server's WHEP endpoint (e.g. "
        "http://gpu-box:8000/whep?session=NAME, what OBS pushes to /whip) into the output; needs the webrtc extra",
    )
    where.add_argument("--local", action="store_true", help="swap on this machine (the default without --server)")
    camera.add_argument(
        "--api-key",
        default=os.environ.get("PLASTICVISION_API_KEY"),
        help="the server's API key (default: $PLASTICVISION_API_KEY)",
    )
    camera.add_argument(
        "--transport",
        choices=("websocket", "webrtc"),
        default="websocket",
        help="with --server: websocket (JPEG over TCP, passes any HTTP proxy; the default) or webrtc "
        "(WHIP, a video codec over UDP: a fraction of the bandwidth; live inputs only; needs the webrtc extra)",
    )
    camera.add_argument("--output", "-o", default="virtual", help="virtual (default), window, none, or a file.mp4")
    camera.add_argument("--device", help="which virtual camera (e.g. /dev/video10; default: the first free one)")
    camera.add_argument("--size", help=f"frame size WxH (default: {DEFAULT_CAMERA_SIZE} for a camera, a video's own)")
    camera.add_argument("--fps", type=float, help="camera frame rate (default: 30; a video plays at its own)")
    camera.add_argument(
        "--pace",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="play a video input at its own speed, skipping frames the swap cannot keep up with "
        "(default: on for virtual and window, off for a file: every frame is swapped)",
    )
    add_engine_flag(camera, default="auto")
    add_settings_flags(camera)
    camera.set_defaults(run=run_camera)


def run_camera(args: argparse.Namespace) -> int:
    from plasticvision.camera.loop import run_stream
    from plasticvision.camera.sinks import open_sink
    from plasticvision.camera.sources import is_capture, open_source, parse_size

    if args.whep:
        return play_whep(args)
    if not args.source:
        raise ValueError("camera needs --source (a face image) to swap in, unless it plays --whep")
    settings = settings_from_args(args)
    size = parse_size(args.size) if args.size else None
    if is_capture(args.input):
        size = size or parse_size(DEFAULT_CAMERA_SIZE)
        fps = args.fps or DEFAULT_CAMERA_FPS
    else:
        fps = args.fps
    if fps is not None and not 1 <= fps <= 240:
        raise ValueError(f"--fps must be from 1 to 240, got {fps:g}")
    sources = [read_image(path) for path in args.source]
    paced = args.pace if args.pace is not None else args.output in LIVE_OUTPUTS
    if args.transport == "webrtc" and not (args.server and (is_capture(args.input) or paced)):
        raise ValueError(
            "--transport webrtc needs --server and a live input (a camera, or a video with --pace): "
            "it skips frames to keep up, which would lose frames of a file"
        )
    with ExitStack() as stack:
        source = open_source(args.input, size, fps, paced=paced)
        stack.callback(source.close)
        sink = open_sink(args.output, source.size, source.fps, device=args.device)
        try:
            if args.server:
                in_flight = LIVE_IN_FLIGHT if source.live else EVERY_FRAME_IN_FLIGHT
                swapper = remote_swapper(args, settings, source, in_flight)
            else:
                swapper = local_swapper(args, settings, sources, source.fps)
        except BaseException:
            sink.abort()
            raise
        stack.callback(swapper.close)
        print(
            f"camera: {args.input} {source.width}x{source.height} at {source.fps:g} fps -> {sink.name} "
            f"({swapper.describe()}); Ctrl-C stops",
            file=sys.stderr,
        )
        run_stream(source, swapper, sink)
    return 0


def play_whep(args: argparse.Namespace) -> int:
    """The swapped video a WHIP sender pushes, played into the output: no input, no sources, no swap here."""
    if args.source:
        raise ValueError("--whep plays what the server swaps for that session: its source faces are set there, not with --source")
    if importlib.util.find_spec("aiortc") is None:
        raise ValueError("--whep needs the webrtc extra: pip install 'plasticvision[webrtc]'")
    import asyncio

    from plasticvision.camera.sinks import open_sink
    from plasticvision.camera.whep_player import play

    fps = args.fps or DEFAULT_CAMERA_FPS
    print(f"camera: playing {args.whep} -> {args.output}; Ctrl-C stops", file=sys.stderr)
    asyncio.run(play(args.whep, args.api_key, lambda size: open_sink(args.output, size, fps, device=args.device)))
    return 0


def local_swapper(args: argparse.Namespace, settings, sources, fps: float):
    from plasticvision.api import FaceSwapper
    from plasticvision.camera.swappers import LocalSwapper

    session = FaceSwapper(args.engine, models_dir=args.models_dir).new_session()
    session.set_sources(sources)
    return LocalSwapper(session.stream(settings, fps=fps))


def remote_swapper(args: argparse.Namespace, settings, source, max_in_flight: int):
    from plasticvision.camera.swappers import RemoteSwapper
    from plasticvision.client import StreamClient

    client = StreamClient(args.server, api_key=args.api_key)  # a fresh server-issued session
    client.upload_sources(args.source)
    client.update_settings(settings.model_dump())
    if args.transport == "webrtc":
        if importlib.util.find_spec("aiortc") is None:
            raise ValueError("--transport webrtc needs the webrtc extra: pip install 'plasticvision[webrtc]'")
        from plasticvision.camera.webrtc_swapper import WebRTCSwapper

        return WebRTCSwapper(args.server, api_key=args.api_key, session=client.ensure_session(), size=(source.width, source.height))
    return RemoteSwapper(client.open_stream(max_in_flight=max_in_flight))
