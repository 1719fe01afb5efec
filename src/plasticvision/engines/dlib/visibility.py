"""Which parts of a source face are its own visible skin, and which are covered (hat brims,
fringes, hands, hair).

A skin model is learned from the source's own cheeks and nose bridge (LAB: a full covariance
on the chroma a/b, and a one-sided limit on lightness, since occluders are mostly darker or
differently coloured, while shading only darkens a little). Pixels of the face mesh that fit
neither that model nor the landmarks' own evidence (eyes, brows, nose, lips are where the
landmarks say, whatever their colour) are covered. Only covered areas that reach the mesh's
edge and are big enough count: an occluder comes from outside the face, while a mole, a
shadow or a highlight inside it does not. Computed once per source, at upload.
"""

from __future__ import annotations

import cv2
import numpy as np

from plasticvision.types import Points

CHEEKS_68 = ((3, 31), (13, 35))  # (jaw point, nose wing) of the image-left and image-right cheek
NOSE_BRIDGE_68 = (27, 28, 29, 30)
BROW_LINE_68 = (19, 24)
FEATURES_68 = (slice(36, 42), slice(42, 48), slice(48, 60), slice(31, 36))  # eyes, lips, nostrils
BROWS_68 = (slice(17, 22), slice(22, 27))

MIN_SKIN_SAMPLES = 50
CHEEK_RADIUS = 0.3  # of the jaw-to-nose-wing distance
CHROMA_FLOOR = 2.5  # a/b spread floor: a grey-scale or very even source still tolerates JPEG noise
LIGHT_FLOOR = 7.0  # grey levels: the least lightness spread of skin
CHROMA_LIMIT = 3.5  # Mahalanobis distance in a/b beyond which a pixel is not this person's skin
DARKER_LIMIT = 3.5  # spreads darker than the darker cheek: shading passes, a brim does not
FOREHEAD_DARKER = 40.0  # the forehead is held to the nose bridge, but never above the darker cheek + this
MIN_COVER_AREA = 0.01  # of the mesh's area: smaller covered blobs are blemishes, not occluders
EDGE_MARGIN = 0.08  # of the face width: how far above the mesh occluders are looked for


def polygon_mask(shape: tuple[int, int], *polygons: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for polygon in polygons:
        cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1)
    return mask


def skin_samples(lab: np.ndarray, points: Points) -> list[np.ndarray]:
    """LAB pixels (N x 3 float) of each cheek and of the nose bridge, kept apart: one side of
    a face may be in shadow. Each cheek is a disc halfway between the nose wing and the jaw,
    well away from the face's edge, where the background begins."""
    h, w = lab.shape[:2]
    parts = []
    for jaw, wing in CHEEKS_68:
        disc = np.zeros((h, w), np.uint8)
        centre = (points[jaw] + points[wing]) / 2
        radius = max(int(CHEEK_RADIUS * np.linalg.norm(points[jaw] - points[wing])), 2)
        cv2.circle(disc, (int(round(centre[0])), int(round(centre[1]))), radius, 1, -1)
        parts.append(disc)
    bridge = np.zeros((h, w), np.uint8)
    width = max(int(np.linalg.norm(points[31] - points[35]) / 3), 2)
    cv2.polylines(bridge, [np.round(points[list(NOSE_BRIDGE_68)]).astype(np.int32)], False, 1, width)
    return [lab[part.astype(bool)].astype(np.float32) for part in (*parts, bridge)]


def feature_mask(shape: tuple[int, int], points: Points, face_width: float) -> np.ndarray:
    """Eyes, brows, nostrils and lips, a little grown: parts the landmarks vouch for."""
    grow = max(int(face_width / 40), 1)
    mask = polygon_mask(shape, *(points[part] for part in FEATURES_68))
    for brow in BROWS_68:
        cv2.polylines(mask, [np.round(points[brow]).astype(np.int32)], False, 1, max(int(face_width / 18), 2))
    return cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))


def lightness_floor(part: np.ndarray) -> tuple[float, float]:
    """A skin part's median lightness and its spread below the median (at least LIGHT_FLOOR)."""
    low, mid = np.percentile(part[:, 0], [16, 50])
    return float(mid), max(float(mid - low), LIGHT_FLOOR)


def above_brows(shape: tuple[int, int], points: Points) -> np.ndarray:
    """True on the forehead's side of the line through both brows (the side away from the chin)."""
    h, w = shape
    a, b = points[BROW_LINE_68[0]], points[BROW_LINE_68[1]]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    side = (b[0] - a[0]) * (ys - a[1]) - (b[1] - a[1]) * (xs - a[0])
    chin = (b[0] - a[0]) * (points[8, 1] - a[1]) - (b[1] - a[1]) * (points[8, 0] - a[0])
    return np.sign(side) != np.sign(chin)


def skin_likeness(lab: np.ndarray, samples: list[np.ndarray], points: Points) -> np.ndarray:
    """True where a pixel could be this person's skin: chroma near the model, and not much
    darker than its skin nearby. Below the brows that is the darker cheek (one side may be in
    shadow); the forehead is held to the nose bridge, lit much as it is, so a dark brim or
    fringe is told from a cheek's shadow even on a grey-scale photo."""
    *cheeks, bridge = samples
    cheek_mid, cheek_spread = min((lightness_floor(part) for part in cheeks if len(part)), key=lambda v: v[0])
    bridge_mid, bridge_spread = lightness_floor(bridge) if len(bridge) else (cheek_mid, cheek_spread)
    forehead = above_brows(lab.shape[:2], points)
    mid = np.where(forehead, min(bridge_mid, cheek_mid + FOREHEAD_DARKER), cheek_mid)
    spread = np.where(forehead, bridge_spread, cheek_spread)
    darker = (mid - lab[..., 0].astype(np.float32)) / spread
    return (skin_chroma_distance(lab, np.concatenate(samples)) < CHROMA_LIMIT) & (darker < DARKER_LIMIT)


def skin_chroma_distance(lab: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Per pixel, the Mahalanobis distance of its chroma (LAB a/b) from the skin samples' (N x 3 LAB)."""
    centre = np.median(skin[:, 1:], axis=0)
    covariance = np.cov((skin[:, 1:] - centre).T) + np.eye(2) * CHROMA_FLOOR**2
    (i00, i01), (_, i11) = np.linalg.inv(covariance)
    a = lab[..., 1].astype(np.float32) - np.float32(centre[0])
    b = lab[..., 2].astype(np.float32) - np.float32(centre[1])
    return np.sqrt(np.float32(i00) * a * a + np.float32(2 * i01) * a * b + np.float32(i11) * b * b)


def visible_skin(
    image: np.ndarray, points_68: Points, mesh_points: Points, outline: np.ndarray, enlarged: float = 1.0
) -> np.ndarray | None:
    """A uint8 mask (255 = visible face, 0 = covered) over `image`, or None when nothing is covered.

    `mesh_points[outline]` is the mesh's hull (parts of it outside the photo are the caller's
    to leave out). `enlarged` is how much the photo was scaled up to `image`: its JPEG noise
    is smoothed at that scale before pixels are judged.
    """
    h, w = image.shape[:2]
    hull = np.round(mesh_points[outline]).astype(np.int32)
    mesh = polygon_mask((h, w), hull)
    lab = cv2.cvtColor(cv2.GaussianBlur(image, (0, 0), max(1.0, 0.8 * enlarged)), cv2.COLOR_BGR2LAB)
    samples = skin_samples(lab, points_68)
    face_width = float(np.ptp(points_68[:, 0]))
    if sum(len(part) for part in samples) < MIN_SKIN_SAMPLES:
        return None
    # Look a little above the mesh, so an occluder that only just reaches into it (a brim,
    # a fringe) is seen at its full size rather than as a thin sliver.
    grow = max(int(face_width * EDGE_MARGIN), 1)
    inside = cv2.dilate(mesh, np.ones((grow + 1, 1), np.uint8), anchor=(0, 0))  # upwards only
    kind = skin_likeness(lab, samples, points_68) | feature_mask((h, w), points_68, face_width).astype(bool)
    kernel = np.ones((3, 3), np.uint8)
    covered = (inside.astype(bool) & ~kind).astype(np.uint8)
    covered = cv2.morphologyEx(covered, cv2.MORPH_OPEN, kernel, iterations=max(int(face_width / 200), 1))
    covered = cv2.morphologyEx(covered, cv2.MORPH_CLOSE, kernel, iterations=max(int(face_width / 60), 1))
    edge = inside - cv2.erode(inside, kernel, iterations=max(int(face_width / 50), 2))
    count, labels = cv2.connectedComponents(covered, connectivity=8)
    # Big enough well inside the mesh: the background just past the face's edge is not an occluder.
    min_area = MIN_COVER_AREA * max(int(mesh.sum()), 1)
    touching = np.unique(labels[(edge > 0) & (covered > 0)])
    core = cv2.erode(mesh, kernel, iterations=max(int(face_width / 25), 2))
    in_mesh = np.bincount(labels[core > 0], minlength=count)
    keep = [i for i in touching if i > 0 and in_mesh[i] >= min_area]
    if not keep:
        return None
    visible = np.full((h, w), 255, np.uint8)
    visible[np.isin(labels, keep)] = 0
    # Grow the covered part a little: the occluder's own soft edge must not come along.
    return cv2.erode(visible, kernel, iterations=max(int(face_width / 60), 1))
