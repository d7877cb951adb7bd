"""Who felt what, when: per-person analytics of video results (faces have track ids).

- `summary`: one `TrackSummary` per person and video (`summarize`, or `Summarizer` as results stream by), and
  the table written as JSON or CSV.
- `timeline`: each person's emotions over time, one panel per person.
- `report`: an HTML report with the timeline, the table and a snapshot per person and emotion.

`ferkit predict --summary / --timeline / --report` writes them through `ferkit.predict.sinks.PeopleWriter`.
"""

from ferkit.people.summary import Summarizer, TrackSummary, summarize, write_summary
from ferkit.people.timeline import timeline_figure, write_timeline

__all__ = ["Summarizer", "TrackSummary", "summarize", "timeline_figure", "write_summary", "write_timeline"]
