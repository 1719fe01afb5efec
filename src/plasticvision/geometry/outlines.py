"""The face's own outline from 68 landmarks: the jaw line closed by a forehead arc above the brows.

The dlib engine extends its mesh to it and cuts its render mask along it. It is landmark geometry,
not a post-processing step, so it sits below the engines instead of in the pipeline's masks.
"""

from __future__ import annotations

import numpy as np

from plasticvision.types import Points

JAW_68 = slice(0, 17)
BROWS_68 = slice(17, 27)
CHIN_68 = 8
FOREHEAD_FROM_BROWS = (17, 19, 21, 22, 24, 26)
FOREHEAD_LIFT = np.array([0.16, 0.26, 0.30, 0.30, 0.26, 0.16], np.float32)  # of the brows-to-chin height


def forehead_points(points_68: Points) -> Points:
    """Six points above the brows, left to right, where a forehead ends (68 landmarks stop at the brows)."""
    up = points_68[BROWS_68].mean(axis=0) - points_68[CHIN_68]
    return (points_68[list(FOREHEAD_FROM_BROWS)] + FOREHEAD_LIFT[:, None] * up[None, :]).astype(np.float32)


def face_outline(points_68: Points) -> Points:
    """The face's own outline in order: the jaw line, then the forehead arc back from right to left."""
    return np.vstack([points_68[JAW_68], forehead_points(points_68)[::-1]]).astype(np.float32)
