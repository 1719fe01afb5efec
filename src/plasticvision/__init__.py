"""PlasticVision: real-time face swap for webcams, images and videos."""

from plasticvision.api import FaceSwapper, SwapSession
from plasticvision.errors import BadImage, ModelMissing, NoFaceFound, PlasticVisionError, UnsupportedOption
from plasticvision.pipeline.facemap import FaceMapState, MappedPerson
from plasticvision.pipeline.identities import Identity
from plasticvision.pipeline.mapper import FaceMapper
from plasticvision.pipeline.stream import LiveStream
from plasticvision.settings import Settings
from plasticvision.types import Face

__all__ = [
    "BadImage",
    "Face",
    "FaceMapState",
    "FaceMapper",
    "FaceSwapper",
    "LiveStream",
    "Identity",
    "MappedPerson",
    "ModelMissing",
    "NoFaceFound",
    "PlasticVisionError",
    "Settings",
    "SwapSession",
    "UnsupportedOption",
]
__version__ = "0.1.0"
