"""What is in front of a TARGET face (glasses frames, hands, pens, microphones, hair strands), so the
swap keeps it: the offline engine's `Occluder`, learned from the target's own pixels, no weights.

The counterpart of `visibility.py` (which does this for a source, once at upload), per target face:

- **Dark thin structures** (frames, lens rims, pen bodies, hair strands): a morphological black-hat
  of the lightness, with a kernel a little wider than a frame, finds everything much darker than
  the skin right around it and narrower than the kernel.
- **Not this person's skin colour** (a blue pen, a black microphone on a warm face): the chroma
  model of `visibility.py`, learned from the target's own cheeks and nose bridge.
- **Brighter than the skin** (a hand or finger in better light, a white microphone): lightness
  narrower than a quarter of the face and much lighter than the skin around it, and lighter than
  most cheek and bridge samples (a lit cheek is wider; the nose's shine lies on the nose), coming in
  across the face's edge (a highlight on a cheek or the forehead lies inside it), with a crisp
  outline (a lit patch of skin fades into the rest).

The landmarks vouch for the eyes, brows, nostrils and lips, which are dark or coloured by nature: a
part lying mostly on them is the face's own (unless much of it is off them: glasses hug the eyes).
Specks are opened away, and a part counts only when it is big enough to be an object (long or
large) and reaches well inside the face. Occluded pixels are grown a little past their anti-aliased
edge and blurred, so the kept object has a soft, narrow edge; the eye openings are always the swap's,
so it shows through the lenses. Faces wider than `WORK_WIDTH` are judged at that width (the
thinnest frames stay a couple of pixels wide there), which keeps a mask at a few milliseconds.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from plasticvision.engines.dlib.visibility import skin_chroma_distance, skin_samples
from plasticvision.geometry.outlines import face_outline
from plasticvision.types import Face, Frame, Mask, Points

WORK_WIDTH = 160  # face width (jaw to jaw) the evidence is computed at
DARK_KERNEL = 1 / 9  # of the face width: dark structures narrower than this are found
DARK_LEVELS = 28.0  # LAB lightness below its surroundings: frames are 60+, wrinkles and folds under 20
DARK_SHARE = 0.72  # and darker than this share of them: a fold's shadow takes less of the light
FAINT_LEVELS = 8.0  # a frame's stretch over a deep shadow stands out less: it is followed from its plain parts,
FAINT_SHARE = 0.8  # if this much darker than around it,
FAINT_REACH = 1 / 16  # of the face width: this far, onto pixels no lighter than this percentile of the parts'
FAINT_AS_DARK = 75
MIN_SKIN_SAMPLES = 50
CHROMA_LIMIT = 5.0  # Mahalanobis distance from the cheeks' chroma: a pen, a microphone
SKIN_TRIM = 0.85  # share of the skin samples most alike that the chroma model is learned from
BRIGHT_KERNEL = 1 / 4  # of the face width: bright structures narrower than this are found (a finger)
BRIGHT_LEVELS = 28.0  # LAB lightness above that: a lit hand, a white microphone
BRIGHT_OVER_SKIN = 15.0  # and above most of the sampled skin (a lit cheek was sampled too)
MIN_LENGTH = 0.2  # of the face width: a thin part must be this long (a frame, a pen, a strand)
MIN_AREA = 0.004  # of the face width squared: or this big
MIN_CORE_AREA = 0.001  # of the face width squared: and this much of it well inside the face
CRISP = 5.0  # grey levels per pixel: the least mean slope around a bright part's outline (a finger's edge)
ALONG_EDGE = 0.25  # a bright part with this share of it on the face's edge band lies along it: a lit jaw
CORE_INSET = 1 / 25  # of the face width: the face's core is its outline shrunk by this (landmarks are not exact)
EYE_OPENING = 1.15  # the eye openings grown this much are the swap's, but for a rim crossing them:
RIM_WIDTH = 1 / 14  # of the face width: parts thinner than this (as grown) are a rim, not an iris
FEATURE_EYE = 1.8  # around the eyes, the landmarks vouch for lids, lashes and creases
BROW_BAND = 1 / 8  # of the face width: the brows' thickness, with room for bushy ones
NOSE_RIDGE = 1 / 6  # of the face width: the width of the nose's shiny ridge
MOSTLY_FEATURES = 0.6  # a part with this share of its pixels on the features is the features,
OFF_FEATURES = 0.02  # unless this much of it (of the face width squared) is off them: glasses hug the eyes,
OFF_SPAN = 0.45  # or what is off them spans this much of the face width (a bridge and both rims, arms)
EDGE_GROW = 1 / 140  # of the face width: occluded parts grow past their anti-aliased edge
EDGE_SOFTEN = 1 / 200  # of the face width: the blur of the kept object's edge


def grown(polygon: np.ndarray, factor: float) -> np.ndarray:
    """A polygon scaled about its centre."""
    centre = polygon.mean(axis=0)
    return (polygon - centre) * factor + centre


def odd(value: float) -> int:
    return max(int(value) // 2 * 2 + 1, 3)


def vouched(shape: tuple[int, int], points: Points, width: float) -> np.ndarray:
    """Eyes (lids, lashes, creases), brows, the nose's underside and lips, generously: dark or coloured
    by nature, where the landmarks say."""
    mask = np.zeros(shape, np.uint8)
    eyes = [grown(points[part], FEATURE_EYE) for part in (slice(36, 42), slice(42, 48))]
    lips = grown(points[48:60], 1.2)
    nose = grown(points[[31, 32, 33, 34, 35, 30]], 2.0)
    cv2.fillPoly(mask, [np.round(p).astype(np.int32) for p in (*eyes, lips, nose)], 1)
    for brow in (slice(17, 22), slice(22, 27)):
        cv2.polylines(mask, [np.round(points[brow]).astype(np.int32)], False, 1, max(int(width * BROW_BAND), 2))
    return mask


class Evidence(NamedTuple):
    """What each pixel of a face's image may be (uint8 masks but the float32 `gradient`)."""

    dark: np.ndarray  # much darker than the skin around it, or not this person's skin colour
    faint: np.ndarray  # a little darker: a frame's stretch over a deep shadow, if it continues a dark part
    bright: np.ndarray  # brighter than the skin around it
    lightness: np.ndarray  # LAB lightness (uint8), lightly blurred
    gradient: np.ndarray  # the lightness's slope, dark thin structures closed away: a bright part's own outline


def evidence(image: Frame, points: Points, width: float) -> Evidence:
    """The evidence over `image` of things in front of the face (see `Evidence`)."""
    lab = cv2.cvtColor(cv2.GaussianBlur(image, (3, 3), 0), cv2.COLOR_BGR2LAB)
    lightness = lab[..., 0]
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (odd(width * DARK_KERNEL),) * 2)
    around = cv2.morphologyEx(lightness, cv2.MORPH_CLOSE, kernel).astype(np.float32)
    # A shadow (a fold, a crease) takes a share of the light away; a frame or a pen is much darker still.
    drop = around - lightness
    dark = (drop > DARK_LEVELS) & (lightness < DARK_SHARE * around)
    faint = ((drop > FAINT_LEVELS) & (lightness < FAINT_SHARE * around)).astype(np.uint8)
    samples = skin_samples(lab, points)
    skin = np.concatenate(samples)
    gradient = cv2.magnitude(cv2.Sobel(around, cv2.CV_32F, 1, 0), cv2.Sobel(around, cv2.CV_32F, 0, 1)) / 8
    if len(skin) < MIN_SKIN_SAMPLES:
        return Evidence(dark.astype(np.uint8), faint, np.zeros_like(faint), lightness, gradient)
    # The cheeks' own chroma, with the samples least like the rest left out (a pen may cross a cheek).
    typical = skin[np.argsort(skin_chroma_distance(skin[None], skin)[0])[: int(len(skin) * SKIN_TRIM)]]
    dark |= skin_chroma_distance(lab, typical) > CHROMA_LIMIT
    # Brighter than the skin around it and narrow (a white top-hat of the lightness with the dark
    # structures closed away, at half size), and brighter than most skin samples: a lit finger or
    # hand. A lit cheek is too wide; the nose's highlight is on a feature (see `occluded`).
    half = cv2.resize(around.astype(np.uint8), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (odd(width * BRIGHT_KERNEL / 2),) * 2)
    tophat = cv2.morphologyEx(half, cv2.MORPH_TOPHAT, kernel)
    tophat = cv2.resize(tophat, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    lit = float(np.percentile(typical[:, 0], 75))
    bright = (tophat > BRIGHT_LEVELS) & (lightness > lit + BRIGHT_OVER_SKIN)
    return Evidence(dark.astype(np.uint8), faint, bright.astype(np.uint8), lightness, gradient)


def objects(
    candidates: np.ndarray,
    width: float,
    core: np.ndarray,
    features: np.ndarray,
    edge: np.ndarray | None = None,
    gradient: np.ndarray | None = None,
) -> np.ndarray:
    """The candidate parts big enough to be objects (long or large) that reach into the face's `core`
    and are not mostly on the face's own `features`; with `edge`, parts that cross it (come from
    outside), and with `gradient` (the lightness's), parts with a crisp outline."""
    kernel = np.ones((3, 3), np.uint8)
    cleaned = cv2.morphologyEx(candidates, cv2.MORPH_OPEN, kernel)
    cleaned = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, kernel, iterations=max(int(width / 100), 1))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(cleaned, connectivity=8)
    length = np.hypot(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    keep = (length >= MIN_LENGTH * width) | (stats[:, cv2.CC_STAT_AREA] >= MIN_AREA * width * width)
    keep &= np.bincount(labels[core > 0], minlength=count)[:count] >= MIN_CORE_AREA * width * width
    on_features = np.bincount(labels[features > 0], minlength=count)[:count]
    off_features = stats[:, cv2.CC_STAT_AREA] - on_features
    own = (on_features >= MOSTLY_FEATURES * stats[:, cv2.CC_STAT_AREA]) & (off_features < OFF_FEATURES * width * width)
    wide = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= OFF_SPAN * width
    for part in np.flatnonzero(keep & own & wide):  # few: glasses, or eyes joined to their brows
        ys, xs = np.nonzero((labels == part) & (features == 0))
        own[part] = len(xs) == 0 or max(np.ptp(xs), np.ptp(ys)) < OFF_SPAN * width
    keep &= ~own
    if edge is not None:  # crossing the edge (a finger's base), not lying along it (a lit jaw)
        on_edge = np.bincount(labels[edge > 0], minlength=count)[:count]
        keep &= (on_edge > 0) & (on_edge < ALONG_EDGE * stats[:, cv2.CC_STAT_AREA])
    if gradient is not None:  # a hand in front has a crisp outline; a highlight fades into the skin
        outline = labels[(cleaned - cv2.erode(cleaned, kernel)) > 0]
        steep = np.bincount(outline, weights=gradient[(cleaned - cv2.erode(cleaned, kernel)) > 0], minlength=count)
        keep &= steep[:count] >= CRISP * np.maximum(np.bincount(outline, minlength=count)[:count], 1)
    keep[0] = False
    return keep[labels].astype(np.uint8)


def continued(parts: np.ndarray, faint: np.ndarray, lightness: np.ndarray, width: float) -> np.ndarray:
    """`parts` grown along the `faint` pixels they touch, a short way: where a frame crosses a deep
    shadow it is only a little darker than the shade, but it goes on from where it was plain, and is
    about as dark there as it was (the shade beside a lock of hair is lighter than the hair)."""
    if not parts.any():
        return parts
    kernel = np.ones((3, 3), np.uint8)
    as_dark = lightness <= np.percentile(lightness[parts > 0], FAINT_AS_DARK)
    path = (faint & as_dark.view(np.uint8)) | parts
    for _ in range(max(int(width * FAINT_REACH), 1)):
        parts = cv2.dilate(parts, kernel) & path
    return parts


def occluded(image: Frame, points: Points) -> np.ndarray:
    """A uint8 mask (1 = something in front of the face) over `image`, from the face's 68 landmarks."""
    h, w = image.shape[:2]
    width = float(np.linalg.norm(points[16] - points[0]))
    face = np.zeros((h, w), np.uint8)
    cv2.fillPoly(face, [np.round(face_outline(points)).astype(np.int32)], 1)
    band = np.ones((3, 3), np.uint8)
    core = cv2.erode(face, band, iterations=max(int(width * CORE_INSET), 2))
    seen = evidence(image, points, width)
    features = vouched((h, w), points, width)
    ridge = features.copy()  # the nose's ridge and tip shine: not evidence of something bright in front
    cv2.polylines(ridge, [np.round(points[27:31]).astype(np.int32)], False, 1, max(int(width * NOSE_RIDGE), 2))
    dark = continued(objects(seen.dark, width, core, features), seen.faint, seen.lightness, width)
    covered = dark | objects(seen.bright, width, core, ridge, face - core, seen.gradient)
    return covered & face


def target_visibility(region: Frame, face: Face) -> Mask:
    """Float32 over the region: 1 where the target's own face shows (the swap may go there), 0 where
    something is in front of it, with a soft edge a few pixels wide."""
    if face.landmarks_68 is None:
        raise ValueError("the dlib occluder needs 68 landmarks on the target face")
    h, w = region.shape[:2]
    points = face.landmarks_68.astype(np.float32)
    width = float(np.linalg.norm(points[16] - points[0]))
    scale = min(WORK_WIDTH / max(width, 1.0), 1.0)
    image = region if scale == 1.0 else cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cover = occluded(image, points * scale)
    if scale != 1.0:
        cover = (cv2.resize(cover * 255, (w, h), interpolation=cv2.INTER_LINEAR) > 127).astype(np.uint8)
    grow = max(int(round(width * EDGE_GROW)), 1)
    cover = cv2.dilate(cover, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    openings = np.zeros((h, w), np.uint8)
    eyes = (points[36:42], points[42:48])
    cv2.fillPoly(openings, [np.round(grown(eye, EYE_OPENING)).astype(np.int32) for eye in eyes], 1)
    # What is thick there is the eye itself (an iris, lashes merged into a rim); a frame crossing the
    # opening's edge is thin and stays.
    thick = cv2.morphologyEx(cover, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (odd(width * RIM_WIDTH),) * 2))
    cover[(openings > 0) & (thick > 0)] = 0
    soft = cv2.GaussianBlur(cover.astype(np.float32), (0, 0), max(width * EDGE_SOFTEN, 0.8))
    return np.clip(1.0 - 2.0 * soft, 0.0, 1.0)  # doubled: the object itself stays fully kept


class DlibOccluder:
    """The dlib engine's `Occluder`: `target_visibility`, needing no weights."""

    def visible(self, region: Frame, face: Face) -> Mask:
        return target_visibility(region, face)
