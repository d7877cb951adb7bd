"""Batch recognition at scale on Ray Data (`ferkit batch`, `pip install 'ferkit[ray]'`): see `ferkit.batch.run`.

Planning (tasks, segments, the output schema, resume) needs no Ray and lives in `ferkit.batch.plan`.
"""

from ferkit.batch.plan import Task, plan_tasks, schema, segments, task_rows
from ferkit.batch.run import BatchOptions, BatchSummary, run_batch

__all__ = [
    "BatchOptions",
    "BatchSummary",
    "Task",
    "plan_tasks",
    "run_batch",
    "schema",
    "segments",
    "task_rows",
]
