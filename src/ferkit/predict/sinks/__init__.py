"""Where the results of `run_predict` go: one sink per output (see `ferkit.predict.sinks.base` for writing one).

`ferkit predict`'s options each add one: terminal lines (`PrintLines`), `--show` (`LiveWindow`), `--json`
(`JsonWriter`), `--csv` (`CsvWriter`), `--summary` / `--timeline` / `--report` (`PeopleWriter`) and `--save`
(`AnnotatedSaver`).
"""

from ferkit.predict.sinks.annotated import AnnotatedSaver
from ferkit.predict.sinks.base import RunInfo, Sink
from ferkit.predict.sinks.files import CsvWriter, JsonWriter
from ferkit.predict.sinks.lines import PrintLines, format_result
from ferkit.predict.sinks.people import PeopleWriter
from ferkit.predict.sinks.video import VideoWriter
from ferkit.predict.sinks.window import LiveWindow

__all__ = [
    "AnnotatedSaver",
    "CsvWriter",
    "JsonWriter",
    "LiveWindow",
    "PeopleWriter",
    "PrintLines",
    "RunInfo",
    "Sink",
    "VideoWriter",
    "format_result",
]
