"""Where the dlib model files of the `face-recognition-models` package lie on disk.

The package's own functions import `pkg_resources`, which setuptools 81 removed and which a
Python 3.12+ virtual environment does not have at all; the files are plain package data, so
they are found from the package's location without running its `__init__`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from plasticvision.errors import ModelMissing

PACKAGE = "face_recognition_models"
DISTRIBUTION = "face-recognition-models"

LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
RECOGNIZER = "dlib_face_recognition_resnet_model_v1.dat"
CNN_DETECTOR = "mmod_human_face_detector.dat"


def model_file(name: str) -> str:
    """The path of one of the package's model files; ModelMissing when the package is absent."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"the dlib engine needs the {DISTRIBUTION} package (pip install {DISTRIBUTION})")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise ModelMissing(f"{name} is missing from the {DISTRIBUTION} package at {path.parent}")
    return str(path)
