"""`DlibEngine`: the offline engine, composed of the landmarker, the recognizer and the mesh warp."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Sequence

import cv2
import dlib
import numpy as np

from plasticvision.engines.base import Occluder, Rendered, RenderOptions, source_face
from plasticvision.engines.dlib.landmarks import DlibLandmarker
from plasticvision.engines.dlib.occlusion import DlibOccluder
from plasticvision.engines.dlib.mesh import blend_shape, hull_order, triangulate, warp_mesh, with_forehead
from plasticvision.engines.dlib.recognizer import DlibRecognizer
from plasticvision.engines.dlib.still_detect import StillDetector
from plasticvision.engines.dlib.visibility import visible_skin
from plasticvision.errors import UnsupportedOption
from plasticvision.geometry.align import face_in_region
from plasticvision.geometry.outlines import face_outline
from plasticvision.geometry.regions import Region
from plasticvision.types import Embedding, Face, Frame, Points

SOURCE_FACE_WIDTH = 320  # sources are stored at this face size: enough detail, small to keep
REGION_PAD = 0.1  # of the face size around the warped mesh: room for the feathered edge to fade


def head_pose(points_68: Points) -> np.ndarray:
    """A cheap (yaw, pitch) proxy: where the nose tip sits between the jaw sides and eyes/chin."""
    left, right = points_68[0], points_68[16]
    nose, chin = points_68[30], points_68[8]
    eyes = points_68[36:48].mean(axis=0)
    yaw = (nose[0] - left[0]) / max(right[0] - left[0], 1.0) - 0.5
    pitch = np.linalg.norm(nose - eyes) / max(np.linalg.norm(chin - eyes), 1.0)
    return np.array([yaw, pitch], np.float32)


def mesh_region(mesh: Points, frame_shape: tuple[int, ...], pad: float) -> Region:
    """The frame window that the warped mesh covers, plus `pad` pixels: all the swap touches."""
    h, w = frame_shape[:2]
    x0, y0 = np.floor(mesh.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(mesh.max(axis=0) + pad).astype(int) + 1
    return Region(max(int(x0), 0), max(int(y0), 0), min(int(x1), w), min(int(y1), h))


def with_alpha(image: Frame, visible: np.ndarray | None) -> np.ndarray:
    """BGRA: `visible` (255 everywhere when None) as alpha, 0 on the one-pixel border."""
    alpha = np.full(image.shape[:2], 255, np.uint8) if visible is None else visible.copy()
    alpha[[0, -1], :] = 0
    alpha[:, [0, -1]] = 0
    return np.dstack([image, alpha])


@dataclass(frozen=True, eq=False)
class DlibSource:
    """A source face prepared once: its pixels at a standard size (BGRA: the alpha says which
    are its visible face, 0 on covered parts and on the photo's border), mesh and pose."""

    face: Face
    embedding: Embedding
    image: Frame
    mesh_points: Points
    triangles: np.ndarray
    outline: np.ndarray  # mesh point indices around the mesh, in order
    pose: np.ndarray


class DlibEngine:
    """The offline default engine; needs only `dlib-bin` and `face-recognition-models`."""

    name = "dlib"
    supports_enhance = False

    def __init__(self) -> None:
        self.landmarker = DlibLandmarker()
        self.recognizer = DlibRecognizer()
        self.still_detector = StillDetector(self.landmarker)
        self.occluder: Occluder = DlibOccluder()  # its `OccludingEngine` capability; XSeg replaces it when present

    def detect(self, frame: Frame) -> list[Face]:
        return self.landmarker.detect(frame)

    def detect_thorough(self, frame: Frame) -> list[Face]:
        """Every face of a still image: more passes, turned searches, CNN-confirmed weak hits."""
        return self.still_detector.detect(frame)

    def refine(self, frame: Frame, face: Face) -> Face | None:
        """Follow a tracked face with the landmark predictor alone (no detector)."""
        return self.landmarker.refine(frame, face)

    def embed(self, frame: Frame, face: Face) -> Embedding:
        return self.recognizer.embed(frame, face)

    def prepare_source(self, frame: Frame) -> DlibSource:
        # The fast detector first (its framing is what the predictor and the tracker see
        # live); the thorough one only for a source photo it finds nothing in.
        face = source_face(self.detect(frame) or self.detect_thorough(frame))
        embedding = self.embed(frame, face)
        scale = SOURCE_FACE_WIDTH / max(face.width, 1.0)
        region = Region.around(face, frame.shape, 0.8)
        crop = frame[region.slices]
        if abs(scale - 1.0) > 0.05:
            interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=interpolation)
        offset = np.array([region.x0, region.y0], np.float32)
        points = (face.landmarks_68 - offset) * scale
        mesh_points = with_forehead(points)
        outline = hull_order(mesh_points)
        return DlibSource(
            face=face,
            embedding=embedding,
            image=with_alpha(crop, visible_skin(crop, points, mesh_points, outline, max(scale, 1.0))),
            mesh_points=mesh_points,
            triangles=triangulate(mesh_points),
            outline=outline,
            pose=head_pose(points),
        )

    def render(
        self, frame: Frame, target: Face, sources: Sequence[DlibSource], options: RenderOptions | None = None
    ) -> Rendered:
        if target.landmarks_68 is None:
            raise ValueError("the dlib engine needs 68 landmarks on the target face")
        pose = head_pose(target.landmarks_68)
        source = min(sources, key=lambda s: float(np.sum((s.pose - pose) ** 2)))
        mesh = with_forehead(blend_shape(source.mesh_points[:68], target.landmarks_68))
        region = mesh_region(mesh, frame.shape, REGION_PAD * max(target.width, target.height))
        offset = np.array([region.x0, region.y0], np.float32)
        size = (region.width, region.height)
        warped, coverage = warp_mesh(
            source.image, source.mesh_points, mesh - offset, source.triangles, source.outline, size
        )
        # The target's own outline bounds the mask: the source's wider jaw or higher forehead
        # must not paint over the background beside a turned head.
        outline = np.zeros_like(coverage)
        cv2.fillPoly(outline, [np.round(face_outline(target.landmarks_68) - offset).astype(np.int32)], 255)
        cv2.min(coverage, outline, dst=coverage)
        detail = min(source.face.width / max(target.width, 1.0), 1.0)
        return Rendered(region, warped, coverage.astype(np.float32) / 255.0, face_in_region(target, region), detail)

    def enhance(self, rendered: Rendered, enhancer: str | None = None) -> Rendered:
        raise UnsupportedOption("enhance needs the inswapper engine (GFPGAN); the dlib engine has no enhancer")

    def info(self) -> dict[str, Any]:
        return {"gpu": False, "providers": ["dlib-cpu" + ("+cuda" if dlib.DLIB_USE_CUDA else "")]}
