"""MODEL_CARD.md, rendered from the `<name>.metrics.json` files beside the weights (so its figures cannot drift)."""

from __future__ import annotations

import json
from pathlib import Path

from ferkit.config import teacher_paths

LIMITATIONS = """\
## Limitations — read before use
- **Noisy labels.** FER2013 was collected by web image search and labelled once (FER+ relabelled the same faces
  with ten annotators each); its own labels are noisy (human
  agreement is about 65 %), and its faces are mostly frontal, young-to-middle-aged and skewed toward
  lighter-skinned subjects. Accuracy on under-represented groups is unknown and likely lower.
- **Posed vs spontaneous.** The seven categories are prototypical expressions. Real, spontaneous expressions are
  subtler and mixed; a label is what the face *shows*, not what the person *feels*.
- **Label spaces.** `default` and `ferplus` answer in FER+'s 8 classes (contempt included), `fer2013` and `fast`
  in FER2013's 7. Contempt has few FER+ training faces and is rarely predicted right.
- **Disgust** has only 436 training images and 56 PublicTest ones: its per-class figures are the least stable
  (one image is 1.8 points of its recall).
- **Not for decisions about people.** Do not use this model to judge, hire, grade, police, diagnose or monitor
  individuals. It is a research and prototyping tool.
- Input must be a face crop framed like FER2013 (ferkit's recognizer detects and crops faces for you).
"""


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


def _duration(hours: float) -> str:
    return f"{hours:.2f} h" if hours >= 1 else f"{60 * hours:.1f} min"


def _curve(curve: list[dict], best_epoch: int) -> str:
    """PublicTest accuracy by epoch: every epoch up to 40 epochs, else every 5th plus the best and the last."""
    step = 1 if len(curve) <= 40 else 5
    keep = [c for c in curve if c["epoch"] % step == 0 or c["epoch"] in (best_epoch, curve[-1]["epoch"])]
    return ", ".join(f"{c['epoch']}: {100 * c['val_acc']:.1f}" for c in keep)


def _recipe(tr: dict) -> str:
    """One line of a training stage's recipe, from the config recorded with it."""
    cfg = tr.get("config") or {}
    opt, sched, train = cfg.get("optim", {}), cfg.get("schedule", {}), cfg.get("train", {})
    extras = f", EMA of the weights (decay {train['ema']})" if train.get("ema") else ""
    if train.get("distill_from"):
        teachers = teacher_paths(train["distill_from"])
        ensemble = " (an ensemble: probabilities averaged)" if len(teachers) > 1 else ""
        extras += (
            f", distilled from {' + '.join(f'`{t}`' for t in teachers)}{ensemble} (teacher share "
            f"{train.get('distill_weight')}, temperature {train.get('distill_temperature')})"
        )
    data = cfg.get("data", {})
    if data.get("second_labels"):
        extras += (
            f", targets {1 - data.get('second_weight', 0):.2f} FER+ votes + {data.get('second_weight')} FER2013 "
            "label of the same face (matched by pixels)"
        )
    return (
        f"{opt.get('name', '?')} lr {opt.get('lr', '?')}, {sched.get('name', '?')} schedule, "
        f"batch {train.get('batch_size', '?')}, label smoothing {train.get('label_smoothing', '?')}{extras}, "
        f"{tr['epochs']} epochs; augmentation {cfg.get('augment', {})}"
    )


def _earlier_stages(tr: dict) -> list[dict]:
    """The stages a model was fine-tuned from (each stage's `init_from` names the one before), oldest first."""
    chain, stage = [], tr.get("init_from")
    while stage:
        chain.append(stage)
        stage = stage.get("init_from")
    return chain[::-1]


def _stage_rows(i: int, stage: dict) -> str:
    """Recipe and compute rows of an earlier stage: the first is pre-training, later ones fine-tuning stages.
    A shipped model's stage was measured by ship_model.py; an unshipped run's by the trainer's own evaluation."""
    title = "pre-training" if i == 0 else f"fine-tuning stage {i}"
    acc = _pct(stage.get("publictest_accuracy", stage.get("eval_accuracy")))
    on = stage.get("eval_name", "PublicTest")
    what = (
        f"run `{stage['name']}` ({acc} {on} by the trainer's evaluation of its best epoch)"
        if "run" in stage
        else f"`{stage['name']}` as shipped before ({acc} {on})"
    )
    return (
        f"| {title} | {what}: {_recipe(stage)} |\n"
        f"| {title} compute | {stage['device']}, {_duration(stage['hours'])} for {stage['epochs']} "
        f"epochs (best epoch {stage['best_epoch']}) |\n"
    )


def render_card(metrics: list[dict]) -> str:
    """The whole MODEL_CARD.md for the shipped models (default first)."""
    metrics = sorted(metrics, key=lambda m: (m["name"] != "default", m["name"]))
    parts = [
        "# ferkit shipped models — model card\n",
        "Every figure below is read from the `<name>.metrics.json` file beside the weights, written by "
        "`release/ship_model.py` (command recorded in each file). Regenerate this card with "
        "`python -m release.card`.\n",
    ]
    parts.append(_validation_table(metrics))
    for m in metrics:
        parts.append(_section(m))
    parts.append(DATA_TERMS)
    parts.append(LIMITATIONS)
    return "\n".join(parts)


FER2013 = {
    "eval": "PublicTest",
    "eval_title": "FER2013 PublicTest",
    "train": "FER2013 `train` split (28,709 images)",
    "unused": "PrivateTest",
}
"""How the card names the data of a FER2013 model; a metrics.json's "dataset" overrides these (FER+)."""


def _section(m: dict) -> str:
    ds = {**FER2013, **m.get("dataset", {})}
    pt, tr, sp = m.get("evaluation") or m["publictest"], m["training"], m["speed_cpu"]
    fp32 = m.get("eval_fp32_accuracy", m.get("publictest_fp32_accuracy"))
    rows = "\n".join(
        f"| {lab} | {_pct(c['precision'])} | {_pct(c['recall'])} | {_pct(c['f1'])} | {c['support']} |"
        for lab, c in pt["per_class"].items()
    )
    tta = " · ".join(f"{t}: {_pct(v['accuracy'])}" for t, v in m["tta"].items())
    d = m.get("dedup") or {}
    ck = m["ckplus48_cross_dataset"]
    speed = " · ".join(
        f"{k.replace('_faces_per_s', '').replace('_', ' ')}: {v:,.0f} faces/s"
        for k, v in sp.items()
        if isinstance(v, (int, float))
    )
    parent = tr.get("init_from")
    stages = "".join(_stage_rows(i, s) for i, s in enumerate(_earlier_stages(tr)))
    return f"""## `{m["name"]}` — {m["architecture"]}
| | |
|---|---|
| architecture | `{m["architecture"]}` ({m["params"]:,} parameters, {m["mflops"]:.0f} MFLOPs per face) |
| weights | `{m["weights_file"]}` ({m["weights_dtype"]}; fp32 {ds["eval"]} accuracy {_pct(fp32)}) |
| labels | {", ".join(pt["labels"])} |
| training data | {ds["train"]} |
{stages}| {"fine-tuning" if parent else "recipe"} | {_recipe(tr)} |
| {"fine-tuning compute" if parent else "compute"} | {tr["device"]}, {_duration(tr["hours"])} for {tr["epochs"]} epochs |
{_adjustment(m)}| selection | {m["selection"]["rule"]} on {m["selection"]["split"]} (best epoch {tr["best_epoch"]}); {ds["unused"]} never used |

{ds["eval"]} chose the epoch, so the {ds["eval"]} figures below are slightly optimistic: the last epoch
({tr["epochs"]}) scored {_pct(tr["curve"][-1]["val_acc"])}. {ds["eval"]} accuracy by epoch:
{_curve(tr["curve"], tr["best_epoch"])}.{_before_adjustment(m)}

### {ds["eval_title"]} ({pt["n"]:,} images), single model, no test-time augmentation
**accuracy {_pct(pt["accuracy"])}**, macro-F1 {_pct(pt["macro_f1"])}, balanced accuracy {_pct(pt["balanced_accuracy"])},
top-2 accuracy {_pct(pt["top2_accuracy"])}, expected calibration error {pt["ece"]:.4f} (15 bins).

Test-time augmentation: {tta}.

Dedup-aware: {_pct(d.get("accuracy_unseen"))} on the {d.get("n_unseen", "n/a")} {ds["eval"]} images with no exact pixel
duplicate in train ({d.get("n_seen", "n/a")} have one; accuracy on those {_pct(d.get("accuracy_seen"))}).

| class | precision | recall | F1 | support |
|---|---|---|---|---|
{rows}

![confusion matrix]({m["name"]}_confusion.png)

Load it with `ferkit.load("{m["name"]}")`, or `--model {m["name"]}` in the CLI{" (used when no model is named)" if m["name"] == "default" else ""}.

### Cross-dataset: CK+48 (no fine-tuning)
{_pct(ck["accuracy"])} accuracy on {ck["n"]} CK+48 images of the shared classes (macro-F1 {_pct(ck["macro_f1"])});
left out (class unknown to the model): {ck["left_out"]}.

### Speed on this CPU ({m["measured_on"]})
{speed}.
{_int8(m)}"""


VALIDATION_SETS = {
    "rafdb_train": "RAF-DB train: real web photos, aligned",
    "ferplus_valid": "FER+ valid",
    "publictest": "FER2013 PublicTest",
}


def _validation_table(metrics: list[dict]) -> str:
    """Every model on the three validation sets (written by benchmarks/validation.py), as `ferkit.load` runs it."""
    rows = [m for m in metrics if m.get("validation")]
    if not rows:
        return ""
    head = " | ".join(f"{t}: accuracy / macro-F1" for t in VALIDATION_SETS.values())
    lines = [
        "## Which model: the three validation sets",
        "Each model as `ferkit.load(name)` runs it (the int8 file where one ships), measured by "
        "`benchmarks/validation.py`. Macro-F1 is over the classes the data has; a model's class the data lacks "
        "(contempt) counts as a miss. These sets chose epochs and recipes, so they are validation figures, not "
        "held-out test results; RAF-DB never gave a gradient.",
        "",
        f"| model | {head} |",
        "|---" * (len(VALIDATION_SETS) + 1) + "|",
    ]
    for m in rows:
        v = m["validation"]
        cells = [f"{_pct(v[k]['accuracy'])} / {v[k]['macro_f1']:.3f}" for k in VALIDATION_SETS]
        lines.append(f"| `{m['name']}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n_{rows[0]['validation']['measured_on']}_\n\n" + READING


READING = """\
- Which to load: `default` for photos of people (it answers in FER+'s 8 classes); `ferplus` for the FER+ votes
  alone; `fer2013` for comparisons with the FER2013 literature (FER2013's 7 classes); `fast` where speed matters
  more than accuracy.
- RAF-DB's surprise faces are the weak spot of every model (recall 28–32 %, most taken for neutral), then disgust
  and fear. FER2013 PrivateTest, FER+ test and RAF-DB test were never used.
- `default` falls short of the targets set for it: ≥ 73 % accuracy and macro-F1 ≥ 0.55 on RAF-DB train, ≥ 88 %
  FER+ valid, ≥ 68 % PublicTest (ROADMAP.md).
- The int8 files (ONNX Runtime static quantization calibrated on 1,024 training faces; used on x86-64 CPUs with
  VNNI, such as recent Intel and AMD Zen 4, else the float weights) ship because each loses at most 0.3 points of
  its selection split and runs 3.2–3.9× faster than the float ONNX model (`benchmarks/int8.py`). Speeds vary with
  the machine and its load: the same int8 ResNet-18 graph ran 302–316 faces/s for `default` and `fer2013` side by
  side on AMD EPYC (2 cores), and 426 for `ferplus` on Intel Xeon (2 cores). `fast` has no int8 file: quantized,
  it lost 0.75 points and ran no faster.
- For comparison, the offline `fer` package scores 65.25 % (macro-F1 61.91 %) on the same PublicTest crops
  (`benchmarks/peer_fer.py`, which runs `fer`'s own model file in a separate environment).
"""


DATA_TERMS = """\
## Training data and its terms
- **FER2013** (ICML 2013 challenge, Kaggle): images and labels for research use. Every shipped model learnt from
  its training faces.
- **FER+** (Microsoft): ten annotators' votes for the FER2013 faces, labels under the MIT licence. `ferplus` and
  `default` learnt from these votes.
- **CK+** (extended Cohn-Kanade): licensed by its authors for non-commercial research; used here only to measure
  cross-dataset accuracy, never for training.
- **RAF-DB**: licensed by its authors for non-commercial research; its train split only validated and selected
  models (no gradient came from it), and no shipped weights were trained on it.
"""


def _before_adjustment(m: dict) -> str:
    if not m.get("prior_adjustment"):
        return ""
    return (
        " These are the trainer's figures, before the logit adjustment was folded in; the figures below are "
        "after it."
    )


def _adjustment(m: dict) -> str:
    """The row of a model whose classifier has logit adjustment by its training prior folded in."""
    a = m.get("prior_adjustment")
    if not a:
        return ""
    prior = ", ".join(f"{k} {100 * v:.1f} %" for k, v in a["prior"].items())
    return (
        f"| logit adjustment | logits − {a['tau']} · log(training prior), folded into the classifier's bias; "
        f"τ chosen on the validation sets (`studies/prior_adjustment.py`); training prior: {prior} |\n"
    )


def _int8(m: dict) -> str:
    q = m.get("int8")
    if not q:
        return ""
    ds = {**FER2013, **m.get("dataset", {})}
    acc = q.get("publictest_accuracy", q.get("eval_accuracy"))
    ref = q.get("publictest_fp32_onnx_accuracy", q.get("eval_fp32_onnx_accuracy"))
    change = 100 * (acc - ref)
    return f"""
### int8: what `ferkit.load("{m["name"]}")` runs where ONNX Runtime is installed
`{q["file"]}`, ONNX Runtime static quantization calibrated on {q["calibration"]}: {ds["eval"]} accuracy
**{_pct(acc)}** ({change:+.2f} points against the float model's {_pct(ref)}),
{q["onnx_int8_batch64_faces_per_s"]:,.0f} faces/s at batch 64 against {q["onnx_fp32_batch64_faces_per_s"]:,.0f} in float32
(`{q["command"]}`). Without ONNX Runtime, or on a GPU, the PyTorch weights above run.
"""


def write_model_card(weights_dir: Path | None = None) -> Path:
    from ferkit.weights import WEIGHTS_DIR

    d = Path(weights_dir or WEIGHTS_DIR)
    metrics = [json.loads(p.read_text()) for p in sorted(d.glob("*.metrics.json"))]
    out = d / "MODEL_CARD.md"
    out.write_text(render_card(metrics))
    return out


if __name__ == "__main__":
    write_model_card()
