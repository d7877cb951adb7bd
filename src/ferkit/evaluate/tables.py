"""Readable text of evaluation and cross-validation results (what the CLI prints)."""

from __future__ import annotations

import numpy as np

from ferkit._table import format_table


def _f(v: float) -> str:
    """A fraction with four decimals (the shared table formatter prints 1.0 as "1.00")."""
    return f"{v:.4f}"


def confusion_text(labels: tuple[str, ...] | list[str], cm) -> str:
    """The confusion matrix as an aligned table: rows true class, columns predicted class."""
    rows = [[name, *[int(v) for v in row]] for name, row in zip(labels, np.asarray(cm).tolist(), strict=True)]
    return format_table(
        ["true \\ pred", *labels], rows, title="confusion matrix (rows true, columns predicted)"
    )


def format_eval(result) -> str:
    """Summary, per-class table and confusion matrix of an `EvalResult`."""
    m = result.metrics
    head = [
        f"model {result.model} on {result.data} [split {result.split}: {result.split_rule}]",
        f"samples scored {m.n:,}" + (f", tta {result.tta}" if result.tta != "none" else ""),
    ]
    if result.detector:
        head.append(f"face detector {result.detector}: no face found in {result.no_face:,} photos (errors)")
    if result.left_out:
        left = ", ".join(f"{k} ({v:,})" for k, v in result.left_out.items())
        head.append(f"left out, classes the model does not know: {left}")
    if result.model_only_classes:
        head.append(f"model classes absent from the data: {', '.join(result.model_only_classes)}")
    summary = [
        ["accuracy", _f(m.accuracy)],
        ["balanced accuracy", _f(m.balanced_accuracy)],
        ["macro-F1", _f(m.macro_f1)],
        ["top-2 accuracy", _f(m.top2_accuracy)],
        [f"ECE ({len(m.reliability.count)} bins)", _f(m.ece)],
    ]
    if result.dedup:
        d = result.dedup
        acc = _f(d["accuracy_unseen"]) if d["accuracy_unseen"] is not None else "n/a"
        summary.append([f"accuracy without train duplicates (n={d['n_unseen']:,})", acc])
        if d.get("note"):
            head.append(f"duplicates: {d['note']}")
    per_class = [[n, _f(c.precision), _f(c.recall), _f(c.f1), c.support] for n, c in m.per_class.items()]
    return "\n\n".join(
        [
            "\n".join(head),
            format_table(["metric", "value"], summary),
            format_table(["class", "precision", "recall", "F1", "support"], per_class, title="per class"),
            confusion_text(m.labels, m.confusion_matrix),
        ]
    )


def format_cv(cv) -> str:
    """Per-fold table, mean ± std and the pooled confusion matrix of a `CVResult`."""
    rows = [
        [
            f.fold,
            f.n_train,
            f.n_val,
            f.n_test,
            f.test_groups,
            f.best_epoch or "—",
            _f(f.accuracy),
            _f(f.macro_f1),
            f"{f.seconds:.1f}",
        ]
        for f in cv.folds
    ]
    table = format_table(
        ["fold", "train", "val", "test", "test subjects", "best epoch", "accuracy", "macro-F1", "seconds"],
        rows,
        title=f"{len(cv.folds)}-fold cross-validation of {cv.config} ({cv.model}) on {cv.data}, "
        f"{'grouped by subject' if cv.grouped else 'not grouped'}"
        + (
            " (LEAKY: frames of one subject on both sides of a fold)"
            if getattr(cv, "subject_leak", False)
            else ""
        )
        + (f", init from {cv.init_from}" if cv.init_from else "")
        + (f", TTA {cv.tta}" if cv.tta != "none" else "")
        + (f"; ensemble (mean probabilities) of {', '.join(cv.members)}" if cv.members else ""),
    )
    summary = (
        f"accuracy {cv.mean_accuracy:.4f} ± {cv.std_accuracy:.4f} (mean ± std over folds), "
        f"macro-F1 {cv.mean_macro_f1:.4f} ± {cv.std_macro_f1:.4f}, pooled accuracy {cv.pooled_accuracy:.4f}"
    )
    return "\n\n".join([table, summary, confusion_text(cv.labels, cv.confusion_matrix)])
