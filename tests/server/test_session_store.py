"""The session store against a real `redis-server` started here (and the in-memory default).

Each "replica" is its own `SessionRegistry` on its own `FaceSwapper` (sharing the loaded dlib
models, not the sessions), so what one finds of another's session came through Redis.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.support.faces import distance
from plasticvision import FaceSwapper
from plasticvision.pipeline.session import SourceUpload
from plasticvision.server.sessions.codec import pack, unpack
from plasticvision.server.sessions.memory_store import MemoryStore
from plasticvision.server.sessions.parts import FaceMapPart, decode_sources, encode_sources
from plasticvision.server.sessions.registry import SessionRegistry
from plasticvision.server.sessions.store import SessionStore, StoreUnavailable
from plasticvision.server.sessions.sync import keep_alive
from plasticvision.settings import Settings

from tests.support.redis_server import RedisServer

Replica = Callable[..., SessionRegistry]


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path) as server:
        yield server


@pytest.fixture
def replica(swapper, redis_server) -> Iterator[Replica]:
    """Makes replicas on one Redis; each has its own sessions, and its own connection to Redis."""
    from plasticvision.server.sessions.redis_store import RedisStore

    stores: list[RedisStore] = []

    def make(idle_s: float = 600, retry_s: float = 0.2) -> SessionRegistry:
        stores.append(RedisStore(redis_server.url, retry_s=retry_s))
        return SessionRegistry(
            FaceSwapper(swapper.engine),
            max_sessions=16,
            idle_s=idle_s,
            max_connections=8,
            max_connections_per_session=4,
            store=stores[-1],
        )

    yield make
    for store in stores:
        store.close()


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_every_kind_of_session_data_round_trips_through_redis(replica, read_test_image):
    a, b = replica(), replica()
    sid = uuid.uuid4().hex
    frame = read_test_image("astronaut.png")
    a.get(sid).set_sources([read_test_image("Tom_Hanks_54745.png")])
    a.get(sid).update_settings({"sharpness": 0.8, "mouth_mask": False})
    a.get(sid).update_settings({"opacity": 0.5})

    restored = b.get(sid)
    assert restored.settings == Settings(sharpness=0.8, mouth_mask=False, opacity=0.5)
    assert restored.faces_loaded == 1
    original, again = a.get(sid).sources[0], restored.sources[0]
    assert type(again) is type(original)
    for name in ("embedding", "mesh_points", "triangles", "outline", "pose"):  # the prepared form itself
        np.testing.assert_array_equal(getattr(again, name), getattr(original, name))
    np.testing.assert_array_equal(again.face.landmarks_68, original.face.landmarks_68)
    assert again.image.shape == original.image.shape and mean_difference(again.image, original.image) < 1.5
    assert mean_difference(b.get(sid).swap(frame).frame, a.get(sid).swap(frame).frame) < 0.5  # the crop is JPEG q95

    b.get(sid).clear_sources()  # the last kind of change: no sources at all
    assert a.get(sid).faces_loaded == 0 and a.get(sid).settings.opacity == 0.5


def test_identities_and_the_face_map_round_trip_through_redis(replica, redis_server, read_test_image):
    import redis

    a, b = replica(), replica()
    sid = uuid.uuid4().hex
    hanks, astronaut = read_test_image("Tom_Hanks_54745.png"), read_test_image("astronaut.png")
    a.get(sid).face_map.add_identity("alice", [hanks])
    a.get(sid).face_map.add_identity("bob", [astronaut, hanks])
    person = a.get(sid).face_map.map_reference(astronaut, "alice")  # the astronaut becomes alice

    state = b.get(sid).face_map.state
    assert [(i.name, i.photos) for i in state.identities] == [("alice", 1), ("bob", 2)]
    (mapped,) = state.people
    assert (mapped.id, mapped.identity) == (person.id, "alice")
    np.testing.assert_array_equal(mapped.embedding, person.embedding)
    assert mapped.thumbnail == person.thumbnail
    np.testing.assert_array_equal(state.identity("bob").embedding, a.get(sid).face_map.state.identity("bob").embedding)
    on_a, on_b = a.get(sid).swap(astronaut), b.get(sid).swap(astronaut)
    assert on_b.faces_swapped == 1 and mean_difference(on_a.frame, on_b.frame) < 0.5

    b.get(sid).face_map.remove_identity("alice")  # its person leaves the map, its photos leave Redis
    assert [i.name for i in a.get(sid).face_map.state.identities] == ["bob"] and not a.get(sid).face_map.state.people
    client = redis.Redis.from_url(redis_server.url)
    assert sorted(client.hkeys(f"plasticvision:session:{sid}")) == [b"f:face_map", b"f:identity.bob", b"rev"]
    client.close()


def test_the_default_session_is_shared_and_never_expires(replica, read_test_image):
    a, b = replica(idle_s=0.5), replica(idle_s=0.5)
    a.get(None).update_settings({"swap_all": True})
    time.sleep(0.8)
    assert b.get("default").settings.swap_all is True


def test_sources_that_another_engine_made_are_prepared_again_from_the_kept_images(swapper, read_test_image):
    session = swapper.new_session()
    image = read_test_image("Tom_Hanks_54745.png")
    session.set_sources([image])
    blob = encode_sources(SourceUpload((image,), session.sources))
    assert decode_sources(blob, session)[0].embedding is not None  # made here: used as stored


    manifest, arrays = unpack(blob)
    foreign = pack({**manifest, "prepared": {"items": [{"type": "SomeFutureSource", "fields": {}}]}}, arrays)
    (again,) = decode_sources(foreign, session)
    assert distance(again.embedding, session.sources[0].embedding) < 0.2  # the same person, re-prepared


def test_identities_another_engine_made_are_prepared_again_and_its_face_map_dropped(swapper, read_test_image):
    session = swapper.new_session()
    hanks, astronaut = read_test_image("Tom_Hanks_54745.png"), read_test_image("astronaut.png")
    changes: list = []
    session.attach_journal(lambda kind, value: changes.append(value))
    session.face_map.add_identity("alice", [hanks])
    session.face_map.map_reference(astronaut, "alice")
    part = FaceMapPart()
    fields = part.fields(changes[0]) | part.fields(changes[1])
    manifest, arrays = unpack(fields["identity.alice"])
    manifest["identity"]["fields"]["sources"] = {"items": [{"type": "SomeFutureSource", "fields": {}}]}
    fields["identity.alice"] = pack(manifest, arrays)

    elsewhere = swapper.new_session()
    part.restore(elsewhere, fields)
    (again,) = elsewhere.face_map.state.identities
    assert again.name == "alice" and distance(again.embedding, session.face_map.state.identities[0].embedding) < 0.2
    assert elsewhere.face_map.state.people == ()  # embeddings of another engine's space mean nothing here


def test_the_kept_copy_of_the_images_is_bounded(swapper, read_test_image):
    big = cv2.resize(read_test_image("astronaut.png"), (3000, 3000))
    session = swapper.new_session()
    session.set_sources([big])
    blob = encode_sources(SourceUpload((big,), session.sources))
    assert len(blob) < 400_000  # 27 MB of pixels: one <=1024 px JPEG plus the prepared crop as JPEG


def test_sessions_expire_from_redis_after_the_idle_timeout(replica, redis_server, read_test_image):
    import redis

    a = replica(idle_s=1.0)
    sid = uuid.uuid4().hex
    a.get(sid).set_sources([read_test_image("Tom_Hanks_54745.png")])
    client = redis.Redis.from_url(redis_server.url)
    assert 0 < client.pttl(f"plasticvision:session:{sid}") <= 1000
    time.sleep(0.6)
    a.get(sid)  # a use pushes the expiry forward
    assert client.pttl(f"plasticvision:session:{sid}") > 700
    time.sleep(1.3)
    assert client.exists(f"plasticvision:session:{sid}") == 0
    assert replica().get(sid).faces_loaded == 0
    client.close()


def test_a_stream_keeps_its_session_alive_in_redis_and_sees_other_replicas_changes(replica, read_test_image):
    a, b = replica(idle_s=0.6), replica(idle_s=0.6)
    sid = uuid.uuid4().hex

    async def stream_for(seconds: float) -> None:
        with a.connect(sid) as session:
            session.update_settings({"sharpness": 0.9})
            task = asyncio.create_task(keep_alive(a.sync, a.held))
            await asyncio.sleep(seconds)
            assert replica().get(sid).settings.sharpness == 0.9  # still stored, 2.5x the idle timeout later
            b.get(sid).update_settings({"opacity": 0.4})
            await asyncio.sleep(0.5)
            assert session.settings.opacity == 0.4  # reached the held session without a request on A
            task.cancel()

    with ThreadPoolExecutor(1) as thread:  # its own loop: the browser tests leave Playwright's running here
        thread.submit(asyncio.run, stream_for(1.5)).result()


def test_two_replicas_updating_one_session_at_once_lose_nothing(replica, read_test_image):
    a, b = replica(), replica()
    sid = uuid.uuid4().hex
    faces = {name: read_test_image(name) for name in ("Tom_Hanks_54745.png", "astronaut.png")}
    errors: list[BaseException] = []

    def settings_on_a() -> None:
        for step in range(40):
            a.get(sid).update_settings({"sharpness": step / 40})

    def uploads_and_settings_on_b() -> None:
        for step in range(4):
            b.get(sid).set_sources([faces["astronaut.png"], faces["Tom_Hanks_54745.png"]][: 1 + step % 2])
            b.get(sid).update_settings({"opacity": (step + 1) / 4})

    threads = [threading.Thread(target=guarded(fn, errors)) for fn in (settings_on_a, uploads_and_settings_on_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors

    fresh = replica().get(sid)
    assert fresh.settings.sharpness == 39 / 40  # A's last write
    assert fresh.settings.opacity == 1.0  # B's last write
    assert fresh.faces_loaded == 2  # B's last upload, not undone by A's settings writes
    for registry in (a, b):  # both replicas see the same final state
        assert registry.get(sid).settings == fresh.settings
        assert registry.get(sid).faces_loaded == 2


def guarded(fn: Callable[[], None], errors: list[BaseException]) -> Callable[[], None]:
    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    return run


@pytest.mark.parametrize("persist", [True, False], ids=["redis-persists", "redis-loses-data"])
def test_redis_restarted_mid_test(swapper, tmp_path, read_test_image, data_dir, persist):
    """Redis down: streams and reads keep working from memory, uploads get 503; back up: all works again.
    A Redis that lost its data on restart gets back what the replica still holds."""
    from plasticvision.config import ServerConfig
    from plasticvision.server import create_app

    with RedisServer(tmp_path, persist=persist) as server:
        config = ServerConfig(engine="dlib", redis_url=server.url, data_dir=tmp_path / "data")
        app = create_app(config, FaceSwapper(swapper.engine))
        frame = cv2.imencode(".jpg", cv2.resize(read_test_image("astronaut.png")[:384], (640, 480)))[1].tobytes()
        face = ("files", ("face.png", (data_dir / "Tom_Hanks_54745.png").read_bytes(), "image/png"))
        with TestClient(app) as client:
            client.headers["X-Session-Id"] = sid = uuid.uuid4().hex
            assert client.post("/upload-source-faces", files=[face]).status_code == 200
            assert client.post("/settings", json={"sharpness": 0.7}).status_code == 200
            with client.websocket_connect(f"/ws/stream?session={sid}") as ws:
                ws.receive_text()
                server.stop()
                for _ in range(3):  # the stream keeps serving swapped frames
                    ws.send_bytes(frame)
                    assert len(ws.receive_bytes()) > 1000
                ws.send_text(json.dumps({"settings": {"opacity": 0.5}}))
                refused = json.loads(ws.receive_text())
                assert refused["code"] == 503 and "Redis" in refused["detail"]
                response = client.post("/upload-source-faces", files=[face])
                assert response.status_code == 503 and "unavailable" in response.json()["detail"]
                status = client.get("/status").json()
                assert status["faces_loaded"] == 1 and status["settings"]["sharpness"] == 0.7
                assert status["settings"]["opacity"] == 1.0  # the refused change did not happen here either

                server.start()
                wait_until(lambda: client.post("/settings", json={"opacity": 0.5}).status_code == 200)
                ws.send_bytes(frame)
                assert len(ws.receive_bytes()) > 1000
        other = SessionRegistry(
            FaceSwapper(swapper.engine), max_sessions=4, idle_s=60, max_connections=2,
            max_connections_per_session=1, store=redis_store(server.url),
        )
        found = other.get(sid)
        assert found.faces_loaded == 1 and found.settings.sharpness == 0.7 and found.settings.opacity == 0.5
        other.sync.store.close()


def redis_store(url: str) -> SessionStore:
    from plasticvision.server.sessions.redis_store import RedisStore

    return RedisStore(url)


def wait_until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_the_memory_store_expires_and_counts_revisions():
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    assert store.write("s", {"settings.opacity": b"0.5"}, 10).revision == 1
    assert store.write("s", {"sources": b"x"}, 10).revision == 2
    assert store.load("s").fields == {"settings.opacity": b"0.5", "sources": b"x"}
    assert store.write("s", {"sources": None}, 10, fill={"settings.opacity": b"0.9"}).existed
    assert store.load("s").fields == {"settings.opacity": b"0.5"}  # fill never overwrites
    now[0] = 11
    assert store.revision("s", 10) is None and not store.write("s", {}, 10).existed


def test_a_store_that_is_down_refuses_at_once_until_it_is_back(tmp_path):
    from plasticvision.server.sessions.redis_store import RedisStore

    with RedisServer(tmp_path) as server:
        store = RedisStore(server.url, retry_s=0.3)
        store.write("s", {"settings.opacity": b"1.0"}, 60)
        server.stop()
        with pytest.raises(StoreUnavailable):
            store.load("s")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.load("s")
        assert time.monotonic() - started < 0.05  # refused without another timeout
        server.start()
        time.sleep(0.35)
        assert store.load("s").fields == {"settings.opacity": b"1.0"}
        store.close()


def test_a_prepared_source_with_a_visibility_mask_round_trips_with_its_mask_exact(swapper, read_test_image):
    """The dlib engine's prepared pixels are BGRA (alpha: which parts of the source are visible face):
    colour as JPEG, the mask losslessly, so what is left out stays left out on another replica."""
    session = swapper.new_session()
    session.set_sources([read_test_image("astronaut.png")])
    (prepared,) = session.sources
    assert prepared.image.shape[2] == 4
    restored = decode_sources(encode_sources(SourceUpload((), session.sources)), session)
    assert np.array_equal(restored[0].image[:, :, 3], prepared.image[:, :, 3])
    assert np.abs(restored[0].image[:, :, :3].astype(int) - prepared.image[:, :, :3]).mean() < 2
