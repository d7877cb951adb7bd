"""`--report DIR`: figures (PNG), metrics.json and one self-contained report.html.

report.html embeds every figure as a base64 data URI (it opens offline, alone, e.g. as an e-mail attachment) and
links each to its PNG file next to it.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from ferkit.errors import FerkitError
from ferkit.evaluate import plots

FIGURES = (
    ("confusion_matrix.png", "Confusion matrix: counts and row-normalised"),
    ("per_class.png", "Per-class precision, recall and F1"),
    ("reliability.png", "Reliability diagram (calibration)"),
    ("mistakes.png", "Most confident mistakes"),
)


def write_report(result, out_dir: str | Path, command: str | None = None) -> Path:
    """Write the figures, `metrics.json` and `report.html` of an `EvalResult` into `out_dir`.

    Args:
        result: an `EvalResult`.
        out_dir: the report folder (created when missing).
        command: the command line that produced the result, recorded in the report.

    Returns:
        The path of report.html.

    Raises:
        FerkitError: the folder cannot be created or written (the message names it).
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        m = result.metrics
        plots.confusion_png(m, out / FIGURES[0][0])
        plots.per_class_png(m, out / FIGURES[1][0])
        plots.reliability_png(m, out / FIGURES[2][0])
        plots.mistakes_png(result, out / FIGURES[3][0])
        doc = {**result.to_dict(), "command": command}
        (out / "metrics.json").write_text(json.dumps(doc, indent=2))
        page = out / "report.html"
        page.write_text(render_html(result, out, command))
    except OSError as exc:
        raise FerkitError(f"{out}: cannot write the report ({exc.strerror or exc})") from None
    return page


def _table(rows: list[tuple], header: tuple | None = None) -> str:
    head = "<tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    if v is None:
        return "—"
    if isinstance(v, list | tuple):
        return ", ".join(map(str, v)) or "—"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) or "—"
    return str(v)


def _figure_html(out: Path, name: str, caption: str) -> str:
    data = base64.b64encode((out / name).read_bytes()).decode("ascii")
    return (
        f'<figure><a href="{escape(name)}"><img src="data:image/png;base64,{data}" alt="{escape(caption)}"></a>'
        f'<figcaption>{escape(caption)} (<a href="{escape(name)}">{escape(name)}</a>)</figcaption></figure>'
    )


CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
    "img{max-width:100%;border:1px solid #ddd}figure{margin:1em 0}code{background:#f3f3f3;padding:2px 4px}"
)


def render_html(result, out: Path, command: str | None = None) -> str:
    """The report page; the figures must already be in `out`."""
    m = result.metrics
    per_class = [(n, c.precision, c.recall, c.f1, c.support) for n, c in m.per_class.items()]
    cm = [(n, *row) for n, row in zip(m.labels, m.confusion_matrix, strict=True)]
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>ferkit evaluation: {escape(result.model)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>ferkit evaluation: {escape(result.model)} on {escape(result.split)}</h1>",
        f"<p>Command: <code>{escape(command)}</code></p>" if command else "",
        "<h2>What was evaluated</h2>",
        _table(_about_rows(result)),
        "<h2>Model card</h2>",
        _table(_card_rows(result.model_card)),
        "<h2>Summary</h2>",
        _table(_summary_rows(result)),
        "<h2>Per class</h2>",
        _table(per_class, ("class", "precision", "recall", "F1", "support")),
        "<h2>Confusion matrix (rows true, columns predicted)</h2>",
        _table(cm, ("true \\ predicted", *m.labels)),
        "<h2>Figures</h2>",
        *(_figure_html(out, name, caption) for name, caption in FIGURES),
        '<p>Metrics as JSON: <a href="metrics.json">metrics.json</a></p></body></html>',
    ]
    return "\n".join(p for p in parts if p)


def _about_rows(result) -> list[tuple]:
    return [
        ("model", result.model),
        ("data", result.data),
        ("split", f"{result.split} ({result.split_rule})"),
        ("samples scored", result.metrics.n),
        ("no face found (errors)", result.no_face),
        ("classes left out (model does not know them)", result.left_out or None),
        ("model classes absent from the data", list(result.model_only_classes) or None),
        ("test-time augmentation", result.tta),
        ("face detector", result.detector),
        ("evaluated", datetime.now(UTC).isoformat(timespec="seconds")),
    ]


def _card_rows(card: dict) -> list[tuple]:
    keys = ("name", "architecture", "params", "train_data", "train_n", "selection_split", "select_metric")
    return [(k.replace("_", " "), card.get(k)) for k in keys] + [
        ("epoch selected", card.get("epoch")),
        ("validation metrics at that epoch", card.get("val_metrics")),
    ]


def _summary_rows(result) -> list[tuple]:
    m, d = result.metrics, result.dedup
    rows = [
        ("accuracy", m.accuracy),
        ("balanced accuracy", m.balanced_accuracy),
        ("macro-F1", m.macro_f1),
        ("top-2 accuracy", m.top2_accuracy),
        (f"expected calibration error ({len(m.reliability.count)} bins)", m.ece),
    ]
    if d:
        label = f"accuracy without exact duplicates in {d['train_data']} (n={d['n_unseen']})"
        rows.append((label, d["accuracy_unseen"]))
    return rows
