"""The face-map HTTP API: /identities, /face-map, /detect-faces?format=json, and the swaps that use them,
with the bad inputs each refuses (unknown identity, a reference without a face, too many people)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from plasticvision.media.images import encode_jpeg, encode_png
from plasticvision.pipeline.facemap import MAX_PEOPLE

from tests.support.people import Crossing, backdrop, compose, distances, embedding_of, head, reference
from tests.support.video_clips import read_frames

LAYOUT = {"X": (20, 20), "Y": (250, 20), "Z": (135, 250)}
SIZE = (470, 470)


def png(image: np.ndarray) -> bytes:
    return encode_png(image, synthetic=False)


def part(field: str, image: np.ndarray, name: str = "image.png") -> tuple[str, tuple[str, bytes, str]]:
    return field, (name, png(image), "image/png")


@pytest.fixture()
def client(make_app) -> Iterator[TestClient]:
    with TestClient(make_app()) as client:
        client.headers["X-Session-Id"] = uuid.uuid4().hex
        yield client


@pytest.fixture(scope="module")
def people(swapper) -> dict[str, np.ndarray]:
    return {name: embedding_of(swapper.engine, head(name)) for name in "ABXYZ"}


def add_identity(client: TestClient, name: str, *images: np.ndarray):
    return client.post("/identities", data={"name": name}, files=[part("files", image) for image in images])


def refused(response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    for word in words:
        assert word.lower() in detail.lower(), detail


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_identities_are_created_listed_replaced_and_deleted(client):
    created = add_identity(client, "Alice", head("A"), head("A", 260))
    assert created.status_code == 201
    assert created.json() == {"success": True, "identity": {"name": "Alice", "photos": 2}, "replaced": False}
    assert add_identity(client, "Bob", head("B")).status_code == 201
    again = add_identity(client, "Alice", head("A"))
    assert again.json()["replaced"] is True and again.json()["identity"]["photos"] == 1
    listed = client.get("/identities").json()
    assert listed == {"identities": [{"name": "Bob", "photos": 1}, {"name": "Alice", "photos": 1}]}

    assert client.delete("/identities/Bob").json() == {"success": True, "removed": "Bob", "unmapped": []}
    assert [i["name"] for i in client.get("/identities").json()["identities"]] == ["Alice"]
    other = client.get("/identities", headers={"X-Session-Id": "someone-else"}).json()
    assert other == {"identities": []}  # per session


def test_bad_identities_are_refused(client):
    refused(add_identity(client, "no face", backdrop(200, 200)), 422, "no face found in source image 1 of 1")
    refused(add_identity(client, "", head("A")), 422, "name")
    refused(add_identity(client, "a/b", head("A")), 422, "identity name")
    refused(client.post("/identities", data={"name": "A"}), 422, "files: field required")
    not_an_image = [("files", ("x.png", b"not an image", "image/png"))]
    bad_file = client.post("/identities", data={"name": "A"}, files=not_an_image)
    refused(bad_file, 415, "x.png")
    refused(client.delete("/identities/nobody"), 404, "'nobody'")
    assert client.get("/identities").json() == {"identities": []}


def test_a_face_map_from_reference_photos_swaps_each_person_with_their_identity(client, swapper, people):
    add_identity(client, "A", head("A"))
    add_identity(client, "B", head("B"))
    for name, identity in (("X", "A"), ("Y", "B")):
        mapped = client.post("/face-map", data={"identity": identity}, files=[part("reference", reference(name))])
        assert mapped.status_code == 201, mapped.text
        person = mapped.json()["person"]
        assert person["identity"] == identity and person["thumbnail"].startswith("data:image/jpeg;base64,")
    face_map = client.get("/face-map").json()
    assert face_map["engine"] == "dlib" and face_map["threshold"] == 0.6
    assert [p["identity"] for p in face_map["people"]] == ["A", "B"]

    client.post("/settings", json={"mouth_mask": False})
    image = compose(LAYOUT, SIZE)
    response = client.post("/swap-image", files=[part("target_file", image)])  # no source_files: the map is enough
    assert response.status_code == 200, response.text
    assert response.headers["X-Faces-Found"] == "3" and response.headers["X-Faces-Swapped"] == "2"
    out = decode(response.content)
    on_x = distances(swapper.engine, out, (120, 120), people)
    on_y = distances(swapper.engine, out, (350, 120), people)
    assert on_x["A"] < min(on_x["B"], on_x["X"]) and on_y["B"] < min(on_y["A"], on_y["Y"]), (on_x, on_y)
    np.testing.assert_array_equal(out[225:, 105:365], image[225:, 105:365])  # Z, unmapped, untouched

    assert client.delete("/identities/B").json()["unmapped"] == [face_map["people"][1]["id"]]
    assert [p["identity"] for p in client.get("/face-map").json()["people"]] == ["A"]


def test_faces_picked_from_a_json_detection_are_mapped_by_id(client):
    add_identity(client, "A", head("A"))
    add_identity(client, "B", head("B"))
    detected = client.post("/detect-faces?format=json", files=[part("file", compose(LAYOUT, SIZE))])
    assert detected.status_code == 200 and detected.headers["X-Faces-Found"] == "3"
    faces = detected.json()["faces"]
    assert detected.json()["count"] == 3 and all(f["id"].startswith("f-") and len(f["box"]) == 4 for f in faces)
    by_accept = client.post("/detect-faces", files=[part("file", head("X"))], headers={"Accept": "application/json"})
    assert by_accept.headers["content-type"] == "application/json" and by_accept.json()["count"] == 1
    as_png = client.post("/detect-faces", files=[part("file", head("X"))])
    assert as_png.headers["content-type"] == "image/png"  # the seed answer stays the default

    left, right = sorted(faces, key=lambda f: f["box"][1] * 10 + f["box"][0])[:2]  # X and Y, top row
    first = client.post("/face-map", data={"identity": "A", "face_id": left["id"]}).json()["person"]
    client.post("/face-map", data={"identity": "B", "face_id": right["id"]})
    again = client.post("/face-map", data={"identity": "B", "face_id": left["id"]}).json()["person"]
    assert again["id"] == first["id"]  # the same person re-assigned, not added twice
    assert [p["identity"] for p in client.get("/face-map").json()["people"]] == ["B", "B"]

    other = client.post("/face-map", data={"identity": "A", "face_id": left["id"]}, headers={"X-Session-Id": "other"})
    refused(other, 404, "no face")  # face ids belong to the session that detected them
    removed = client.delete(f"/face-map/{first['id']}").json()
    assert len(removed["people"]) == 1
    assert client.delete("/face-map").json()["people"] == []


def test_bad_face_map_requests_are_refused(client):
    add_identity(client, "A", head("A"))
    of_x, empty = [part("reference", reference("X"))], [part("reference", backdrop(300, 300))]
    refused(client.post("/face-map", data={"identity": "C"}, files=of_x), 404, "no identity named 'C'")
    refused(client.post("/face-map", data={"identity": "A"}, files=empty), 422, "no face found in the reference")
    two = compose({"X": (0, 0), "Z": (220, 0)}, (420, 200))
    refused(client.post("/face-map", data={"identity": "A"}, files=[part("reference", two)]), 422, "2 faces")
    refused(client.post("/face-map", data={"identity": "A"}), 422, "reference image or a face_id")
    both = client.post("/face-map", data={"identity": "A", "face_id": "f-1"}, files=[part("reference", reference("X"))])
    refused(both, 422, "not both")
    refused(client.post("/face-map", data={"identity": "A", "face_id": "f-0000000000"}), 404, "recent detections")
    refused(client.post("/face-map", files=[part("reference", reference("X"))]), 422, "identity: field required")
    refused(client.delete("/face-map/p-nobody"), 404, "p-nobody")
    refused(client.post("/detect-faces?format=xml", files=[part("file", head("X"))]), 422, "format")
    refused(client.post("/swap-image", files=[part("target_file", head("X"))]), 422, "source_files: field required")


def test_more_people_than_the_map_holds_are_refused(client):
    add_identity(client, "A", head("A"))
    mapper = client.app.state.sessions.get(client.headers["X-Session-Id"]).face_map
    state = mapper.state
    for index in range(MAX_PEOPLE):  # a full map of people far from anyone real
        state, _ = state.with_person(np.eye(128, dtype=np.float32)[index] * 5, "A", threshold=0.6)
    mapper.restore(state)
    response = client.post("/face-map", data={"identity": "A"}, files=[part("reference", reference("X"))])
    refused(response, 422, f"at most {MAX_PEOPLE} people")
    assert len(client.get("/face-map").json()["people"]) == MAX_PEOPLE


def test_the_stream_follows_the_face_map(client, swapper, people):
    add_identity(client, "A", head("A"))
    client.post("/face-map", data={"identity": "A"}, files=[part("reference", reference("X"))])
    client.post("/settings", json={"mouth_mask": False})
    image = compose(LAYOUT, SIZE)
    with client.websocket_connect(f"/ws/stream?session={client.headers['X-Session-Id']}") as ws:
        assert ws.receive_json() == {"status": "connected"}
        ws.send_bytes(encode_jpeg(image, 90))
        out = decode(ws.receive_bytes())
    on_x = distances(swapper.engine, out, (120, 120), people)
    assert on_x["A"] < on_x["X"], on_x  # no source faces uploaded, yet the mapped person is swapped
    on_y = distances(swapper.engine, out, (350, 120), people)
    assert on_y["Y"] < on_y["A"], on_y  # an unmapped person stays themselves


def test_a_video_swap_uses_the_face_map_without_source_files(client, swapper, people, tmp_path):
    add_identity(client, "A", head("A"))
    client.post("/face-map", data={"identity": "A"}, files=[part("reference", reference("X"))])
    client.post("/settings", json={"mouth_mask": False})
    clip = Crossing(frames=8)
    video = clip.write(tmp_path / "in.mp4").read_bytes()
    response = client.post("/swap-video", files=[("target_file", ("in.mp4", video, "video/mp4"))])
    assert response.status_code == 200, response.text
    (tmp_path / "out.mp4").write_bytes(response.content)
    first = read_frames(tmp_path / "out.mp4")[0]
    on_x = distances(swapper.engine, first, clip.centres(0)["X"], people)
    on_y = distances(swapper.engine, first, clip.centres(0)["Y"], people)
    assert on_x["A"] < on_x["X"] and on_y["Y"] < on_y["A"], (on_x, on_y)  # only X is mapped
