"""K-fold cross-validation: stratified, grouped by subject when the data has groups (CK+48 always).

Per fold the trainer gets the training folds only; its validation set (checkpoint selection) is a stratified
hold-out carved from them, whole subjects at a time. The test fold is used once, to score the best checkpoint.
The result types live in `cv_results`, the fold split in `cv_folds`, the resume check in `cv_plan`.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ferkit.config import Config
from ferkit.data import FerDataset, load_dataset
from ferkit.evaluate.cv_folds import GROUP_MODES, cv_pool, make_folds, use_groups
from ferkit.evaluate.cv_plan import PLAN_FILE, check_plan, fold_plan
from ferkit.evaluate.cv_results import CVResult, FoldResult, rescored

__all__ = [
    "GROUP_MODES",
    "PLAN_FILE",
    "CVResult",
    "FoldResult",
    "cross_validate",
    "cv_pool",
    "make_folds",
    "rescore_fold",
    "rescored",
    "use_groups",
]


def cross_validate(
    cfg: Config,
    data: str | Path | FerDataset,
    folds: int = 10,
    group: str = "auto",
    init_from: str | None = None,
    run_dir: str | Path | None = None,
    seed: int = 0,
    quiet: bool = True,
    *,
    tta: str = "none",
    exist_ok: bool = False,
    resume: bool = False,
    allow_subject_leak: bool = False,
) -> CVResult:
    """Cross-validate a training recipe: one trainer run per fold, its best checkpoint scored on the test fold.

    Args:
        cfg: the training recipe; `data.val_split` is ignored (validation is always a hold-out of the training
            folds, `data.val_fraction` of it, grouped by subject when the data has groups).
        data: a dataset path or a loaded `FerDataset`.
        folds: K.
        group: auto (by subject when the data has groups), subject, or none (refused for CK+).
        init_from: a checkpoint to fine-tune from in every fold (the classifier is replaced when the labels
            differ, e.g. a FER2013 model on CK+).
        run_dir: one `fold_XX` run directory per fold and `cv.json`; default `runs/cv_<config name>`.
        seed: seed of the fold assignment.
        quiet: no progress output.
        tta: test-time augmentation of the test-fold scoring (none, flip, tencrop). A finished fold found by
            `resume` that was scored with another TTA is scored again from its best checkpoint, not retrained.
        exist_ok: start over in existing fold directories.
        resume: reuse finished folds (their `fold.json`) and resume interrupted fold runs.
        allow_subject_leak: with group `none` on data with subjects (CK+), split images at random as some
            published work did: frames of one person land in training, validation and test folds alike, so
            the figure measures recall of seen faces. Only to show what such a figure is worth; marked in the
            result (`subject_leak`).
    """
    from ferkit.backends.base import check_tta

    check_tta(tta)  # before ten folds of training, not after the first
    ds = data if isinstance(data, FerDataset) else _load(data, cfg, quiet)
    pool, grouped, leak = _pool(ds, cfg, group, allow_subject_leak)
    splits = make_folds(pool.labels, pool.groups if grouped else None, folds, seed)
    cfg = replace(cfg, data=replace(cfg.data, val_split=None))
    cv = _CV(cfg, pool, Path(run_dir or f"runs/cv_{cfg.name}"), init_from, tta, quiet, exist_ok, resume)
    check_plan(cv.root, fold_plan(pool, splits, grouped, seed, cfg, init_from), resume, exist_ok, cfg)
    done = tuple(_fold(cv, i, tr, te, folds) for i, (tr, te) in enumerate(splits, 1))
    source = str(data) if not isinstance(data, FerDataset) else ds.root
    return _finish(cv, done, source, grouped=grouped, seed=seed, subject_leak=leak)


def _load(data: str | Path, cfg: Config, quiet: bool) -> FerDataset:
    opts = {"label_mode": cfg.data.label_mode} if cfg.data.label_mode else {}
    return load_dataset(data, cfg.data.format, quiet=quiet, **opts)


def _pool(ds: FerDataset, cfg: Config, group: str, allow_subject_leak: bool) -> tuple[FerDataset, bool, bool]:
    """(the samples cross-validated, whether folds are grouped, whether subjects leak across folds)."""
    pool = cv_pool(ds, cfg)
    grouped = use_groups(pool, group, allow_subject_leak)
    leak = not grouped and pool.groups is not None
    if leak:
        warnings.warn(
            f"{pool.root}: folds ignore subjects: frames of one person are on both sides", stacklevel=3
        )
        pool = replace(pool, groups=None)  # the validation hold-out is random too
    return pool, grouped, leak


@dataclass(frozen=True)
class _CV:
    """A cross-validation once planned: the recipe, the pooled samples and how each fold runs."""

    cfg: Config
    pool: FerDataset
    root: Path
    init_from: str | None
    tta: str
    quiet: bool
    exist_ok: bool
    resume: bool

    def log(self, message: str) -> None:
        if not self.quiet:
            print(message)


def _finish(cv: _CV, done: tuple[FoldResult, ...], source: str, **fields) -> CVResult:
    """The result of the finished folds, also written to `cv.json` in the run directory."""
    result = CVResult(
        folds=done,
        labels=tuple(cv.pool.label_space.names),
        data=source,
        config=cv.cfg.name,
        model=cv.cfg.model.name,
        init_from=str(cv.init_from) if cv.init_from else None,
        run_dir=str(cv.root),
        tta=cv.tta,
        **fields,
    )
    (cv.root / "cv.json").write_text(json.dumps(result.to_dict(), indent=2))
    return result


def _fold(cv: _CV, i: int, tr: np.ndarray, te: np.ndarray, folds: int) -> FoldResult:
    """Fold i: reused when a finished one is found under --resume (scored again if its TTA differs), else
    trained on `tr` (less a validation hold-out) and scored on `te`; its fold.json written."""
    from ferkit.train.data_setup import holdout

    fold_dir = cv.root / f"fold_{i:02d}"
    marker = fold_dir / "fold.json"
    if cv.resume and marker.is_file():
        fr = FoldResult.from_dict(json.loads(marker.read_text()))
        if fr.tta != cv.tta:
            fr = rescore_fold(fr, fold_dir / "best.safetensors", cv.pool.subset(te), cv.tta)
            marker.write_text(json.dumps(fr.to_dict(), indent=2))
        cv.log(f"fold {i}/{folds}: done earlier, accuracy {fr.accuracy:.4f} (TTA {cv.tta})")
        return fr
    t0 = time.perf_counter()
    train, val = holdout(cv.pool.subset(tr), cv.cfg.data.val_fraction, cv.cfg.train.seed)
    fr = _run_fold(cv, train, val, cv.pool.subset(te), i, fold_dir, t0)
    marker.write_text(json.dumps(fr.to_dict(), indent=2))
    cv.log(f"fold {i}/{folds}: accuracy {fr.accuracy:.4f}, macro-F1 {fr.macro_f1:.4f}, {fr.seconds:.1f} s")
    return fr


def rescore_fold(fr: FoldResult, checkpoint: Path, test: FerDataset, tta: str) -> FoldResult:
    """A finished fold's figures with its best checkpoint scored again on its test fold with `tta`."""
    from ferkit.evaluate.evaluator import evaluate

    return rescored(fr, evaluate(checkpoint, test, tta=tta, quiet=True).metrics, tta)


def _run_fold(cv: _CV, train, val, test, fold: int, fold_dir: Path, t0: float) -> FoldResult:
    from ferkit.evaluate.evaluator import evaluate
    from ferkit.train import fit

    can_resume = cv.resume and (fold_dir / "last_state.safetensors").is_file()
    res = fit(
        cv.cfg,
        fold_dir,
        train=train,
        val=val,
        init_from=cv.init_from,
        quiet=cv.quiet,
        resume=can_resume,
        exist_ok=cv.exist_ok or cv.resume,
    )
    ev = evaluate(res.best_path, test, tta=cv.tta, quiet=True)
    groups = 0 if test.groups is None else len(np.unique(test.groups))
    return FoldResult(
        fold=fold,
        n_train=len(train),
        n_val=len(val),
        n_test=len(test),
        test_groups=groups,
        accuracy=ev.metrics.accuracy,
        macro_f1=ev.metrics.macro_f1,
        best_epoch=res.best_epoch,
        seconds=time.perf_counter() - t0,
        confusion_matrix=ev.metrics.confusion_matrix,
        tta=cv.tta,
    )
