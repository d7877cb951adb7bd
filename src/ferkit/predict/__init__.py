"""Recognition: faces in photos, folders, videos and webcams → detector → FER2013-style crop → model → results.

The recognition core is this folder (`sources`, `frames`, `video` → `Recognizer` → `detected` → `track` /
`smooth` → `results`); where results go is `ferkit.predict.sinks` (`run_predict` hands each result to a list of
sinks); per-person analytics are `ferkit.people`; image decoding is `ferkit.imageio`.

```python
import ferkit
rec = ferkit.load()                      # shipped default model + best available detector
results = rec.predict("photo.jpg")       # list[FrameResult]
for r in rec.stream("clip.mp4"): ...     # generator
```
"""

from __future__ import annotations

from ferkit.predict.frames import iter_frames
from ferkit.predict.loading import load, resolve_model_path, shipped_weights
from ferkit.predict.recognizer import NoFaceError, Recognizer
from ferkit.predict.results import FaceResult, FrameResult
from ferkit.predict.sinks import AnnotatedSaver, CsvWriter, JsonWriter, Sink, VideoWriter
from ferkit.predict.sources import Frame, parse_source
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
    "Sink",
    "VideoWriter",
    "iter_frames",
    "load",
    "parse_source",
    "resolve_model_path",
    "shipped_weights",
    "softmax",
]
