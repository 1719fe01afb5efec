"""`--map TARGET=SOURCE` on swap-image and swap-video, and `detect --json` face numbers, run as a user would."""

from __future__ import annotations

import json

import cv2
import pytest

from tests.cli.test_cli import run_cli
from tests.support.people import Crossing, backdrop, compose, distances, embedding_of, head, reference
from tests.support.video_clips import read_frames

LAYOUT = {"X": (20, 20), "Y": (250, 20), "Z": (135, 250)}
SIZE = (470, 470)


@pytest.fixture()
def files(tmp_path):
    """The people's photos as files: sources A and B, references of X and Y, and the three-person target."""
    paths = {}
    for name, image in {
        "a": head("A"), "b": head("B"), "b2": head("B", 260), "x": reference("X"), "y": reference("Y"),
        "group": compose(LAYOUT, SIZE), "empty": backdrop(200, 200),
    }.items():
        paths[name] = tmp_path / f"{name}.png"
        cv2.imwrite(str(paths[name]), image)
    return paths


def test_swap_image_puts_each_source_on_its_mapped_person(tmp_path, files, swapper):
    out = tmp_path / "out.png"
    result = run_cli(
        "swap-image", str(files["group"]), "-o", str(out), "--no-mouth-mask",
        "--map", f"{files['x']}={files['a']}", "--map", f"{files['y']}={files['b']},{files['b2']}",
    )
    assert result.returncode == 0, result.stderr
    assert "swapped 2 of 3" in result.stdout
    swapped = cv2.imread(str(out))
    people = {name: embedding_of(swapper.engine, head(name)) for name in "ABXY"}
    on_x = distances(swapper.engine, swapped, (120, 120), people)
    on_y = distances(swapper.engine, swapped, (350, 120), people)
    assert on_x["A"] < min(on_x["B"], on_x["X"]) and on_y["B"] < min(on_y["A"], on_y["Y"]), (on_x, on_y)
    original = cv2.imread(str(files["group"]))
    assert (swapped[225:, 105:365] == original[225:, 105:365]).all()  # Z is not mapped


def test_detect_json_numbers_faces_that_map_can_pick(tmp_path, files):
    listed = run_cli("detect", str(files["group"]), "--json")
    assert listed.returncode == 0, listed.stderr
    faces = json.loads(listed.stdout)["faces"]
    assert [f["id"] for f in faces] == [1, 2, 3]
    top_left = min(faces, key=lambda f: f["box"][0] + 10 * f["box"][1])
    out = tmp_path / "out.png"
    result = run_cli(
        "swap-image", str(files["group"]), "-o", str(out), "--map", f"{files['group']}#{top_left['id']}={files['a']}"
    )
    assert result.returncode == 0, result.stderr
    assert "swapped 1 of 3" in result.stdout


def test_swap_video_follows_the_map(tmp_path, files, swapper):
    clip = Crossing(frames=8)
    source = clip.write(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    result = run_cli(
        "swap-video", str(source), "-o", str(out), "--no-progress", "--no-mouth-mask",
        "--map", f"{files['x']}={files['a']}", "--map", f"{files['y']}={files['b']}",
    )
    assert result.returncode == 0, result.stderr
    assert "in 8 of 8 frames" in result.stdout
    first = read_frames(out)[0]
    people = {name: embedding_of(swapper.engine, head(name)) for name in "ABXY"}
    on_x = distances(swapper.engine, first, clip.centres(0)["X"], people)
    assert on_x["A"] < min(on_x["B"], on_x["X"]), on_x


@pytest.mark.parametrize(
    "map_args, message",
    [
        (["--map", "nonsense"], "expected TARGET=SOURCE"),
        (["--map", "{empty}={a}"], "no face found in the reference image"),
        (["--map", "{group}={a}"], "the reference shows 3 faces"),
        (["--map", "{group}#7={a}"], "face 7 asked for"),
        ([], "give --source"),
    ],
)
def test_bad_maps_fail_with_one_line(tmp_path, files, map_args, message):
    args = [arg.format(**{k: str(v) for k, v in files.items()}) for arg in map_args]
    result = run_cli("swap-image", str(files["group"]), "-o", str(tmp_path / "o.png"), *args)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]  # argparse prints its usage above its one-line error
    assert last.startswith("plasticvision") and message in last, result.stderr
    assert not (tmp_path / "o.png").exists()
