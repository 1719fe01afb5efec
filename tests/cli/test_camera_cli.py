"""`plasticvision camera` as a user runs it: a clip in, swapped frames out to an MP4 (in-process and
through a live server), faceless clips untouched, Ctrl-C finishing the file, one-line errors."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from tests.support.faces import distance, identity
from tests.support.live_uvicorn import free_port, serving
from tests.support.optional_parts import need_module
from tests.support.own_loop import in_own_loop
from tests.support.server_process import throwaway_server
from tests.support.video_clips import make_clip, read_frames, top_level_boxes
from plasticvision.media.images import SYNTHETIC_NOTE, SYNTHETIC_SOURCE_TYPE
from plasticvision.video.metadata import XMP_UUID

DATA = Path(__file__).parents[1] / "data"
SOURCE = DATA / "Tom_Hanks_54745.png"
SUMMARY = re.compile(r"(\d+) frames in, (\d+) out, (\d+) dropped")
CLIP_FRAMES = 15


def camera(*args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "plasticvision", "camera", "--source", str(SOURCE), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=os.environ | env)


def counts(result: subprocess.CompletedProcess) -> tuple[int, int, int]:
    """(frames in, frames out, dropped) from the command's final line."""
    match = SUMMARY.search(result.stderr)
    assert match, result.stderr
    return tuple(int(group) for group in match.groups())


def labelled_synthetic(path: Path) -> bool:
    import av

    with av.open(str(path)) as container:
        tags = container.metadata
    xmp = [head for kind, head in top_level_boxes(path) if kind == b"uuid" and head == XMP_UUID]
    labelled = tags.get("DigitalSourceType") == SYNTHETIC_SOURCE_TYPE and tags.get("description") == SYNTHETIC_NOTE
    return labelled and bool(xmp)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("camera-clips")
    return {
        "mp4": make_clip(folder / "face.mp4", size=(320, 240), seconds=1.0),
        "y4m": make_clip(folder / "face.y4m", size=(320, 240), seconds=1.0, audio=False),
        "no face": make_clip(folder / "cat.mp4", face="chelsea.png", size=(320, 240), seconds=1.0, audio=False),
    }


def assert_swapped(swapper, clip: Path, out: Path, result: subprocess.CompletedProcess) -> None:
    """Every frame in is out or counted as dropped; the faces are the source's; the file says synthetic."""
    frames_in, frames_out, dropped = counts(result)
    outputs, inputs = read_frames(out), read_frames(clip)
    assert frames_in == len(inputs) == CLIP_FRAMES
    assert len(outputs) == frames_out == frames_in - dropped
    assert frames_out >= CLIP_FRAMES // 2, f"most frames were dropped: {result.stderr}"
    source = identity(swapper, cv2.imread(str(SOURCE)))
    for index in (0, len(outputs) // 2, len(outputs) - 1):
        swapped = identity(swapper, outputs[index])
        original = identity(swapper, inputs[round(index * (len(inputs) - 1) / max(len(outputs) - 1, 1))])
        assert distance(swapped, source) < distance(swapped, original), f"output frame {index} kept the clip's face"
    assert labelled_synthetic(out)
    assert sorted(os.listdir(out.parent)) == [out.name], "a temp file was left behind"


@pytest.mark.parametrize("kind", ["mp4", "y4m"])
def test_local_swap_of_a_clip_into_an_mp4(swapper, clips, kind, tmp_path):
    out = tmp_path / "out.mp4"
    result = camera("--input", str(clips[kind]), "--local", "--engine", "dlib", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert counts(result)[2] == 0  # a file into a file: nothing needs to be skipped
    assert_swapped(swapper, clips[kind], out, result)


@pytest.fixture(scope="module")
def server(make_app, live_server) -> str:
    return "http://" + live_server(make_app())


@pytest.fixture(scope="module")
def keyed_server(make_app, live_server) -> str:
    return "http://" + live_server(make_app(api_key="right-key"))


@pytest.mark.parametrize("kind", ["mp4", "y4m"])
def test_remote_swap_of_a_clip_into_an_mp4(swapper, clips, kind, server, tmp_path):
    out = tmp_path / "out.mp4"
    result = camera("--input", str(clips[kind]), "--server", server, "--output", str(out), PLASTICVISION_API_KEY="")
    assert result.returncode == 0, result.stderr
    assert "server, JPEG q" in result.stderr
    assert_swapped(swapper, clips[kind], out, result)
    assert httpx.get(f"{server}/status").json()["faces_loaded"] == 0, "the camera used the shared default session"


def test_remote_swap_in_real_time_counts_what_it_drops(swapper, clips, server, tmp_path):
    """Paced, as a camera: frames the stream cannot keep up with are dropped, and every one is counted."""
    out = tmp_path / "out.mp4"
    result = camera("--input", str(clips["mp4"]), "--server", server, "--pace", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert_swapped(swapper, clips["mp4"], out, result)


@pytest.mark.parametrize(("key", "message"), [(None, "refused the API key"), ("wrong-key", "refused the API key")])
def test_a_refused_api_key_is_one_line(clips, keyed_server, key, message):
    args = ["--api-key", key] if key else []
    result = camera(
        "--input", str(clips["mp4"]), "--server", keyed_server, "--output", "none", *args, PLASTICVISION_API_KEY=""
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("plasticvision: error: ") and message in lines[0], lines


def test_the_api_key_from_the_environment_is_used(clips, keyed_server):
    result = camera(
        "--input", str(clips["mp4"]), "--server", keyed_server, "--output", "none", PLASTICVISION_API_KEY="right-key"
    )
    assert result.returncode == 0, result.stderr
    assert counts(result)[1] > 0


def test_an_unreachable_server_is_one_line(clips):
    result = camera("--input", str(clips["mp4"]), "--server", f"http://127.0.0.1:{free_port()}", "--output", "none")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("plasticvision: error: cannot reach the server"), lines


def test_a_clip_without_a_face_passes_through_unchanged(clips, tmp_path):
    out = tmp_path / "out.mp4"
    result = camera("--input", str(clips["no face"]), "--engine", "dlib", "--output", str(out))
    assert result.returncode == 0, result.stderr
    inputs, outputs = read_frames(clips["no face"]), read_frames(out)
    assert len(outputs) == len(inputs) == CLIP_FRAMES
    for before, after in zip(inputs, outputs):
        shift, worst = re_encoding_change(before, after)
        assert np.abs(shift).max() < 5 and worst < 8, f"shift {shift}, worst 16x16 block {worst:.1f}"


def re_encoding_change(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, float]:
    """What an H.264 round trip does to a frame: a small uniform shift per channel (PyAV's BGR<->YUV
    conversion rounds) and codec noise. Returns the shift and the largest 16x16 block's mean change
    beyond it; a swapped face changes its blocks by 50 or more."""
    change = after.astype(np.float32) - before
    shift = change.mean(axis=(0, 1))
    residual = np.abs(change - shift).mean(axis=2)
    rows, cols = residual.shape[0] // 16, residual.shape[1] // 16
    blocks = residual[: rows * 16, : cols * 16].reshape(rows, 16, cols, 16).mean(axis=(1, 3))
    return shift, float(blocks.max())


def test_ctrl_c_stops_cleanly_and_finishes_the_file(tmp_path):
    clip = make_clip(tmp_path / "long.mp4", size=(320, 240), seconds=20.0, audio=False)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    command = [
        sys.executable,
        "-m",
        "plasticvision",
        "camera",
        "--source",
        str(SOURCE),
        "--input",
        str(clip),
        "--engine",
        "dlib",
        "--pace",
        "--output",
        str(out_dir / "out.mp4"),
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not os.listdir(out_dir):  # the temp file appears when the output opens
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    time.sleep(3.0)  # paced at 15 fps: a few seconds of frames
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert os.listdir(out_dir) == ["out.mp4"]
    frames_in, frames_out, dropped = (int(g) for g in SUMMARY.search(stderr).groups())
    assert 0 < frames_out < 300 and frames_in == frames_out + dropped
    assert len(read_frames(out_dir / "out.mp4")) == frames_out
    assert labelled_synthetic(out_dir / "out.mp4")


def test_a_server_that_goes_away_mid_stream_keeps_the_frames_so_far(make_app, tmp_path):
    clip = make_clip(tmp_path / "long.mp4", size=(320, 240), seconds=20.0, audio=False)
    out = tmp_path / "out" / "out.mp4"
    out.parent.mkdir()
    with serving(make_app()) as url:
        command = [
            sys.executable,
            "-m",
            "plasticvision",
            "camera",
            "--source",
            str(SOURCE),
            "--input",
            str(clip),
            "--server",
            url,
            "--pace",
            "--output",
            str(out),
        ]
        process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not os.listdir(out.parent):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        time.sleep(3.0)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith("plasticvision: error: ") and "stream" in lines[-1], stderr
    frames_out = counts(subprocess.CompletedProcess([], 2, "", stderr))[1]
    assert frames_out > 0 and len(read_frames(out)) == frames_out
    assert labelled_synthetic(out) and os.listdir(out.parent) == ["out.mp4"]


def test_virtual_output_without_a_device_fails_at_once(clips):
    if importlib.util.find_spec("pyvirtualcam") is None:
        from tests.support.optional_parts import unavailable

        unavailable("needs the 'camera' extra: pip install -e .[camera]")
    if sys.platform == "linux" and list(Path("/dev").glob("video*")):
        pytest.skip("this machine has video devices; the test needs one without a virtual camera")
    started = time.monotonic()
    result = camera("--input", str(clips["mp4"]), "--engine", "dlib")  # --output virtual is the default
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no engine was loaded, no log line came before
    assert lines[0].startswith("plasticvision: error: no virtual camera")
    assert "sudo modprobe v4l2loopback exclusive_caps=1 card_label=PlasticVision" in lines[0]
    assert time.monotonic() - started < 30


def test_virtual_output_without_the_extra_says_what_to_install(clips):
    """pyvirtualcam made unimportable in the child (as on an install without the extra)."""
    code = (
        "import sys; sys.modules['pyvirtualcam'] = None; from plasticvision.cli import main; "
        f"sys.exit(main(['camera', '--source', {str(SOURCE)!r}, '--input', {str(clips['mp4'])!r}]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "plasticvision: error: --output virtual needs pyvirtualcam: pip install 'plasticvision[camera]'"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "9", "--output", "none"], "camera 9 could not be opened"),
        (["--input", "missing.mp4", "--output", "none"], "no such file"),
        (["--input", str(SOURCE), "--output", "none"], "not a video"),
        (["--output", "/no/such/folder/out.mp4"], "does not exist"),
        (["--output", "out.avi"], "must end in .mp4"),
        (["--size", "640by480", "--output", "none"], "expected a size like 640x480"),
        (["--source", str(DATA / "coffee.png"), "--output", "none"], "no face found in source image 2 of 2"),
    ],
    ids=[
        "camera-missing",
        "input-missing",
        "input-not-video",
        "folder-missing",
        "not-mp4",
        "bad-size",
        "faceless-source",
    ],
)
def test_bad_setups_fail_with_one_line(clips, args, message, tmp_path):
    if "--input" not in args:
        args = ["--input", str(clips["mp4"]), *args]
    result = subprocess.run(
        [sys.executable, "-m", "plasticvision", "camera", "--source", str(SOURCE), "--engine", "dlib", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("plasticvision: error: ") and message in last, result.stderr
    assert os.listdir(tmp_path) == []


def test_window_output_without_a_gui_says_so(clips):
    if not re.search(r"GUI:\s+NONE", cv2.getBuildInformation()) and os.environ.get("DISPLAY"):
        pytest.skip("this OpenCV can open windows")
    result = camera("--input", str(clips["mp4"]), "--engine", "dlib", "--output", "window")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("plasticvision: error: --output window needs a display")


def test_remote_swap_over_webrtc(swapper, server, tmp_path, read_test_image):
    """`--transport webrtc`: a paced clip pushed by WHIP, the swapped frames written as they come back."""
    need_module("aiortc", "webrtc")
    clip = make_clip(tmp_path / "face.y4m", size=(320, 240), seconds=3.0, audio=False)
    out = tmp_path / "out.mp4"
    result = camera("--input", str(clip), "--server", server, "--transport", "webrtc", "--pace", "--output", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    _, frames_out, _ = counts(result)
    assert frames_out >= 3, result.stderr[-2000:]  # loose: the connection takes a second or two of the 3 s clip
    last = read_frames(out)[-1]
    hanks = identity(swapper, read_test_image("Tom_Hanks_54745.png"))
    assert distance(identity(swapper, last), hanks) < distance(identity(swapper, read_frames(clip)[-1]), hanks)


def test_whep_plays_a_send_only_push_into_an_mp4(swapper, tmp_path, read_test_image):
    """`--whep`: a send-only WHIP push (as OBS sends it) swapped by a server process, played into a
    file, which the command finishes when the push ends."""
    need_module("aiortc", "webrtc")
    from plasticvision.client.webrtc import WhipClient

    session, out = "camera-whep", tmp_path / "played.mp4"
    face = read_frames(make_clip(tmp_path / "face.y4m", size=(320, 240), seconds=0.2, audio=False))[0]

    async def push_and_play(server: str) -> tuple[int | None, str]:
        command = [sys.executable, "-m", "plasticvision", "camera", "--whep", f"{server}/whep?session={session}", "-o", str(out)]
        async with WhipClient(server, session=session) as client:
            push = await client.publish(lambda: face, receive=False)
            player = await asyncio.create_subprocess_exec(*command, stderr=asyncio.subprocess.PIPE)
            lines = []
            while not lines or "POST" not in lines[-1]:  # its offer answered (its import alone takes seconds on 2 cores)
                lines.append((await asyncio.wait_for(player.stderr.readline(), 120)).decode())
                assert lines[-1], "".join(lines)
            await asyncio.sleep(4)  # a few seconds played
            await client.end(push)  # the server ends its players with the push
            rest = await asyncio.wait_for(player.stderr.read(), 60)
            return await player.wait(), "".join(lines) + rest.decode()

    with throwaway_server() as server:
        with open(SOURCE, "rb") as image:
            uploaded = httpx.post(server.url + "/upload-source-faces", files={"files": image}, headers={"X-Session-Id": session}, timeout=60)
        assert uploaded.status_code == 200, uploaded.text
        code, errors = in_own_loop(push_and_play(server.url))
    assert code == 0, errors[-2000:]
    _, frames_out, _ = counts(subprocess.CompletedProcess([], code, "", errors))
    played = read_frames(out)
    assert frames_out >= 15 and len(played) == frames_out, errors[-2000:]
    assert played[-1].shape == face.shape  # the stamp strip our client adds is cut off again
    hanks = identity(swapper, read_test_image("Tom_Hanks_54745.png"))
    assert distance(identity(swapper, played[-1]), hanks) < distance(identity(swapper, face), hanks)


def test_whep_takes_no_sources_and_a_whep_url():
    result = camera("--whep", "http://127.0.0.1:9/whep", "--output", "out.mp4")  # camera() passes --source
    assert result.returncode == 2 and "its source faces are set there" in result.stderr
    bare = [sys.executable, "-m", "plasticvision", "camera", "--whep", "gpu-box:8000", "--output", "out.mp4"]
    result = subprocess.run(bare, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "give the server's WHEP URL" in result.stderr.strip().splitlines()[-1]


def test_webrtc_needs_a_live_input():
    result = camera("--input", "whatever.mp4", "--server", "http://127.0.0.1:9", "--transport", "webrtc", "--output", "out.mp4")
    assert result.returncode != 0 and "needs --server and a live input" in result.stderr
