"""Optional dependencies of recognition, imported where used with an error naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from ferkit.errors import FerkitError


class MissingDependencyError(FerkitError, ImportError):
    """An optional dependency (OpenCV, yuface, onnxruntime, openvino) is not installed.

    Also an ImportError, so `except ImportError` around optional features keeps working.
    """


_EXTRA = {"cv2": "faces", "yuface": "faces", "onnxruntime": "onnx", "onnx": "onnx", "openvino": "openvino"}
_PIP = {
    "cv2": "opencv-python-headless",
    "yuface": "yuface",
    "onnxruntime": "onnxruntime",
    "onnx": "onnx",
    "openvino": "openvino",
}


def require(module: str, what: str) -> ModuleType:
    """Import `module`, or raise MissingDependencyError saying which ferkit extra provides it.

    Args:
        module: Importable module name, e.g. "cv2".
        what: What needs it, for the message, e.g. "video input".
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = _EXTRA.get(module, "faces")
        raise MissingDependencyError(
            f"{what} needs {_PIP.get(module, module)} ({exc}); install it with `pip install 'ferkit[{extra}]'`"
        ) from None


def cv2() -> ModuleType:
    """OpenCV, or a clear error naming the `faces` extra."""
    return require("cv2", "face detection, cropping and video")
