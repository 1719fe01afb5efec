"""Things in front of a TARGET face, drawn at its own landmarks: thin glasses frames, a pen, a finger-like
skin-coloured bar; and the number that says whether a swap kept them (the share of their pixels
inside the face that the output leaves within 25 grey levels of the target).

Each drawer returns the new image and a boolean mask of the pixels it drew, so the measure looks
only at them. The frames follow the landmarks, so drawing them on every frame of a clip makes
glasses that move with the head.
"""

from __future__ import annotations

import cv2
import numpy as np

from plasticvision.geometry.outlines import face_outline
from plasticvision.types import Face, Frame

FRAME_BGR = (34, 30, 28)  # a dark metal or acetate frame
FRAME_THICKNESS = 1 / 55  # of the face width: acetate; metal frames are about 1/90
PEN_BGR = (150, 62, 20)  # a blue ballpoint
KEPT_WITHIN = 25  # grey levels
SHIFT = 4  # sub-pixel bits for anti-aliased drawing


def face_width(face: Face) -> float:
    points = face.landmarks_68
    return float(np.linalg.norm(points[16] - points[0]))


def fixed(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points, np.float64) * (1 << SHIFT)).astype(np.int32)


def drawn(image: Frame, paint) -> tuple[Frame, np.ndarray]:
    """Run `paint(canvas, colour)` on a copy of the image and on a blank mask: the image and its drawn pixels."""
    out = image.copy()
    paint(out, None)
    mask = np.zeros(image.shape[:2], np.uint8)
    paint(mask, 255)
    return out, mask > 127


def lens_rims(face: Face) -> list[np.ndarray]:
    """Each lens outline (a rounded rectangle around an eye, reaching from the brow to the upper cheek)."""
    points = face.landmarks_68
    rims = []
    for eye, brow in ((points[36:42], points[17:22]), (points[42:48], points[22:27])):
        centre = eye.mean(axis=0)
        across = eye[3] - eye[0]
        half_w = 0.95 * float(np.linalg.norm(across))
        top = 0.7 * float(centre[1] - brow[:, 1].mean())  # most of the way up to the brow
        angle = float(np.arctan2(across[1], across[0]))
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        # a superellipse: flatter sides than an ellipse, like a real lens
        x = half_w * np.sign(np.cos(t)) * np.abs(np.cos(t)) ** 0.7
        y = np.where(np.sin(t) < 0, top, 1.15 * top) * np.sign(np.sin(t)) * np.abs(np.sin(t)) ** 0.7
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        rims.append(centre + np.stack([x, y], 1) @ rotation.T)
    return rims


def with_glasses(image: Frame, face: Face, thickness: float = FRAME_THICKNESS) -> tuple[Frame, np.ndarray]:
    """Thin dark frames: two lens rims, the bridge over the nose and the arms out to the face's sides,
    `thickness` of the face width thick (at least a pixel)."""
    points = face.landmarks_68
    thickness = max(int(round(face_width(face) * thickness)), 1 if thickness < FRAME_THICKNESS else 2)
    left, right = lens_rims(face)
    inner_left = left[np.argmax(left[:, 0])]
    inner_right = right[np.argmin(right[:, 0])]
    bridge = np.array([inner_left, (inner_left + inner_right) / 2 - [0, 0.04 * face_width(face)], inner_right])
    arms = [
        np.array([left[np.argmin(left[:, 0])], points[0] + (points[0] - points[1]) * 0.2]),
        np.array([right[np.argmax(right[:, 0])], points[16] + (points[16] - points[15]) * 0.2]),
    ]

    def paint(canvas: np.ndarray, colour: int | None) -> None:
        ink = FRAME_BGR if colour is None else colour
        lines = [fixed(left), fixed(right)]
        cv2.polylines(canvas, lines, True, ink, thickness, cv2.LINE_AA, SHIFT)
        cv2.polylines(canvas, [fixed(bridge), *map(fixed, arms)], False, ink, thickness, cv2.LINE_AA, SHIFT)

    return drawn(image, paint)


def with_pen(image: Frame, face: Face) -> tuple[Frame, np.ndarray]:
    """A pen held across the face: from below the jaw on one side, over the cheek, to the nose."""
    points = face.landmarks_68
    start = points[4] + (points[4] - points[30]) * 0.25
    end = points[30] + (points[30] - points[4]) * 0.1
    thickness = max(int(round(face_width(face) / 22)), 3)

    def paint(canvas: np.ndarray, colour: int | None) -> None:
        cv2.line(canvas, tuple(fixed(start)), tuple(fixed(end)), PEN_BGR if colour is None else colour, thickness, cv2.LINE_AA, SHIFT)

    return drawn(image, paint)


def with_finger(image: Frame, face: Face) -> tuple[Frame, np.ndarray]:
    """A finger-like bar in the person's own skin colour, lit more brightly than the cheek it rests on,
    rounded (lighter along its middle), from beside the jaw up over the cheek."""
    points = face.landmarks_68
    width = max(int(round(face_width(face) / 8)), 6)
    start = points[13] + (points[13] - points[33]) * 0.4
    end = (points[14] + points[35] + points[46]) / 3
    cheek = np.zeros(image.shape[:2], np.uint8)
    cv2.circle(cheek, tuple(int(v) for v in (points[13] + points[35]) / 2), max(width // 2, 2), 1, -1)
    skin = np.median(image[cheek > 0].reshape(-1, 3), axis=0).astype(np.float32)
    bar = np.zeros(image.shape[:2], np.uint8)
    cv2.line(bar, tuple(fixed(start)), tuple(fixed(end)), 255, width, cv2.LINE_AA, SHIFT)
    # lighter along the middle: the distance from the bar's edge, as a rounded profile
    depth = cv2.distanceTransform((bar > 127).astype(np.uint8), cv2.DIST_L2, 5)
    profile = np.sqrt(np.clip(depth / max(width / 2, 1.0), 0, 1))
    lit = np.clip(skin * 1.2 + 40, 0, 255)
    finger = skin[None, None] * 0.9 + (lit - skin * 0.9)[None, None] * profile[..., None]
    alpha = (bar.astype(np.float32) / 255)[..., None]
    out = np.clip(image * (1 - alpha) + finger * alpha, 0, 255).astype(np.uint8)
    return out, bar > 127


def inside_face(face: Face, shape: tuple[int, ...]) -> np.ndarray:
    outline = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(outline, [np.round(face_outline(face.landmarks_68)).astype(np.int32)], 1)
    return outline > 0


def kept_share(target: Frame, output: Frame, drawn_mask: np.ndarray, face: Face) -> float:
    """The share of the drawn pixels inside the face's outline that the output keeps (within 25 grey levels)."""
    where = drawn_mask & inside_face(face, target.shape)
    grey_target = cv2.cvtColor(target, cv2.COLOR_BGR2GRAY).astype(np.int16)
    grey_output = cv2.cvtColor(output, cv2.COLOR_BGR2GRAY).astype(np.int16)
    return float((np.abs(grey_output - grey_target)[where] <= KEPT_WITHIN).mean())
