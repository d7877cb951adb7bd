"""`ferkit.load`: a model (shipped name, checkpoint, ONNX file, module or backend) plus a detector → Recognizer."""

from __future__ import annotations

from ferkit.backends.resolve import load_backend, resolve_model_path  # noqa: F401  (re-exported)
from ferkit.weights import shipped_models as shipped_weights  # noqa: F401  (re-exported by ferkit.predict)


def load(
    model: object = None,
    detector: object = None,
    *,
    device: str = "cpu",
    threads: int | None = None,
    backend: str = "auto",
    **kwargs,
):
    """A ready `Recognizer`: the shipped default model and the default face detector unless told otherwise.

    Args:
        model: None (the shipped "default" model, FER+'s 8 classes), a shipped model name ("default", "ferplus",
            "fer2013" — FER2013's 7 classes —, "fast": its shipped int8
            ONNX model where there is one and ONNX Runtime is installed, else its PyTorch weights), a checkpoint
            path (.safetensors), an ONNX file (.onnx, run with ONNX Runtime), an `nn.Module` from the zoo, or a
            backend.
        detector: A detector name from `ferkit detectors` ("yunet", "haar", "none"), a `Detector`, or None
            for the best available.
        device: "cpu", "cuda", "cuda:N" or "mps": PyTorch's device for checkpoints, ONNX Runtime's CUDA provider
            for .onnx files. A shipped name on "cpu" may run its int8 ONNX file; on a GPU, its PyTorch weights.
        threads: CPU threads inference may use (None: the libraries' defaults, one per core).
        backend: "auto" (an ONNX file on the CPU runs on the fastest installed runtime that agrees with ONNX
            Runtime, measured once per file and machine), or "torch", "onnxruntime", "openvino" to force one.
        **kwargs: `Recognizer` options: margin, min_face, max_side, smooth, track_gap, tta, batch_size,
            require_face.

    Returns:
        A `Recognizer`.

    Raises:
        ModelError: The model cannot be found or loaded (e.g. no default weights installed).
    """
    from ferkit.predict.recognizer import Recognizer

    return Recognizer(load_backend(model, device, threads, backend), detector, **kwargs)
