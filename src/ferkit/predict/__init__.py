"""Recognition: faces in photos, folders, videos and webcams → detector → FER2013-style crop → model → results.

```python
import ferkit
rec = ferkit.load()                      # shipped default model + best available detector
results = rec.predict("photo.jpg")       # list[FrameResult]
for r in rec.stream("clip.mp4"): ...     # generator
```
"""

from __future__ import annotations

from ferkit.predict.loading import load, resolve_model_path, shipped_weights
from ferkit.predict.recognizer import NoFaceError, Recognizer
from ferkit.predict.results import FaceResult, FrameResult
from ferkit.predict.sources import Frame, iter_frames, parse_source
from ferkit.predict.writers import AnnotatedSaver, CsvWriter, JsonWriter, VideoWriter
from ferkit.probs import softmax

__all__ = [
    "AnnotatedSaver",
    "CsvWriter",
    "FaceResult",
    "Frame",
    "FrameResult",
    "JsonWriter",
    "NoFaceError",
    "Recognizer",
    "VideoWriter",
    "iter_frames",
    "load",
    "parse_source",
    "resolve_model_path",
    "shipped_weights",
    "softmax",
]
