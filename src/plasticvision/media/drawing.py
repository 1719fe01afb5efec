"""Drawing detections for `detect`: boxes, landmarks and scores on a copy of the frame."""

from __future__ import annotations

from collections.abc import Sequence

import cv2

from plasticvision.types import Face, Frame

BOX_COLOUR = (60, 220, 60)
POINT_COLOUR = (40, 40, 255)
FIVE_COLOUR = (255, 200, 0)


def draw_faces(frame: Frame, faces: Sequence[Face]) -> Frame:
    out = frame.copy()
    thickness = max(1, round(max(frame.shape[:2]) / 400))
    for face in faces:
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), BOX_COLOUR, thickness)
        if face.landmarks_68 is not None:
            for x, y in face.landmarks_68:
                cv2.circle(out, (int(x), int(y)), thickness, POINT_COLOUR, -1)
        for x, y in face.landmarks_5:
            cv2.circle(out, (int(x), int(y)), thickness + 1, FIVE_COLOUR, -1)
        label = f"{face.score:.2f}"
        cv2.putText(out, label, (x0, max(y0 - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness + 0.1, BOX_COLOUR, thickness)
    return out
