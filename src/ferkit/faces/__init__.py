"""Face detection and alignment: a registry of detectors (one file each) and FER2013-style cropping.

Importing this package registers every detector; their heavy dependencies (yuface, OpenCV) are imported only
when a detector is built or checked.
"""

from __future__ import annotations

from ferkit.faces import haar, mtcnn, none, yunet  # noqa: F401  (registers the detectors)
from ferkit.faces._registry import (
    DetectorError,
    default_detector,
    default_reason,
    detector_table,
    get_detector,
    list_detectors,
    register_detector,
    unavailable_reason,
)
from ferkit.faces.align import DEFAULT_MARGIN, crop_face, crop_faces, face_square
from ferkit.faces.base import Detector
from ferkit.faces.face import Face, iou

__all__ = [
    "DEFAULT_MARGIN",
    "Detector",
    "DetectorError",
    "Face",
    "crop_face",
    "crop_faces",
    "default_detector",
    "default_reason",
    "detector_table",
    "face_square",
    "get_detector",
    "iou",
    "list_detectors",
    "register_detector",
    "unavailable_reason",
]
