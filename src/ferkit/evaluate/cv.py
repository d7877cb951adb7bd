"""K-fold cross-validation: stratified, grouped by subject when the data has groups (CK+48 always).

Per fold the trainer gets the training folds only; its validation set (checkpoint selection) is a stratified
hold-out carved from them, whole subjects at a time. The test fold is used once, to score the best checkpoint.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ferkit.config import Config
from ferkit.data import FerDataset, load_dataset
from ferkit.errors import DataError

GROUP_MODES = ("auto", "subject", "none")


@dataclass(frozen=True)
class FoldResult:
    """One fold: sizes, test-fold figures of the best checkpoint, and the time it took (train + evaluate).

    `tta` is the test-time augmentation the test fold was scored with; `best_epoch` is 0 for an ensemble, whose
    `seconds` are its members' together.
    """

    fold: int
    n_train: int
    n_val: int
    n_test: int
    test_groups: int
    accuracy: float
    macro_f1: float
    best_epoch: int
    seconds: float
    confusion_matrix: tuple[tuple[int, ...], ...]
    tta: str = "none"

    def to_dict(self) -> dict:
        """JSON-ready dict of the fold."""
        d = asdict(self)
        d["confusion_matrix"] = [list(r) for r in self.confusion_matrix]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FoldResult:
        """Inverse of `to_dict` (used to resume a cross-validation)."""
        return cls(**{**d, "confusion_matrix": tuple(tuple(r) for r in d["confusion_matrix"])})


@dataclass(frozen=True)
class CVResult:
    """Every fold of a cross-validation, with means, standard deviations and the pooled confusion matrix.

    `std_*` are sample standard deviations across folds (ddof=1). `members` lists the run directories of an
    ensemble (`ensemble_cv`); it is empty for a single cross-validation.
    """

    folds: tuple[FoldResult, ...]
    labels: tuple[str, ...]
    grouped: bool
    data: str
    config: str
    model: str
    init_from: str | None
    seed: int
    run_dir: str
    tta: str = "none"
    members: tuple[str, ...] = ()
    subject_leak: bool = False

    def _vals(self, key: str) -> np.ndarray:
        return np.array([getattr(f, key) for f in self.folds], np.float64)

    @property
    def mean_accuracy(self) -> float:
        return float(self._vals("accuracy").mean())

    @property
    def std_accuracy(self) -> float:
        return float(self._vals("accuracy").std(ddof=1)) if len(self.folds) > 1 else 0.0

    @property
    def mean_macro_f1(self) -> float:
        return float(self._vals("macro_f1").mean())

    @property
    def std_macro_f1(self) -> float:
        return float(self._vals("macro_f1").std(ddof=1)) if len(self.folds) > 1 else 0.0

    @property
    def confusion_matrix(self) -> np.ndarray:
        """Sum of the per-fold confusion matrices (every sample is in exactly one test fold)."""
        return np.sum([np.asarray(f.confusion_matrix, np.int64) for f in self.folds], axis=0)

    @property
    def pooled_accuracy(self) -> float:
        cm = self.confusion_matrix
        return float(np.trace(cm) / max(cm.sum(), 1))

    def to_dict(self) -> dict:
        """The JSON of `ferkit cv --json`: folds, means and sample standard deviations, pooled confusion."""
        return {
            "folds": [f.to_dict() for f in self.folds],
            "k": len(self.folds),
            "mean_accuracy": self.mean_accuracy,
            "std_accuracy": self.std_accuracy,
            "mean_macro_f1": self.mean_macro_f1,
            "std_macro_f1": self.std_macro_f1,
            "pooled_accuracy": self.pooled_accuracy,
            "labels": list(self.labels),
            "confusion_matrix": self.confusion_matrix.tolist(),
            "grouped": self.grouped,
            "data": self.data,
            "config": self.config,
            "model": self.model,
            "init_from": self.init_from,
            "seed": self.seed,
            "run_dir": self.run_dir,
            "tta": self.tta,
            "members": list(self.members),
            "subject_leak": self.subject_leak,
            "seconds": float(self._vals("seconds").sum()),
        }


def make_folds(
    labels: np.ndarray, groups: np.ndarray | None, k: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K-fold (train index, test index) pairs; with `groups`, no group is on both sides of a fold.

    Raises:
        DataError: k < 2, more folds than groups (or samples), or a fold that would be empty.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels = np.asarray(labels)
    idx = np.arange(len(labels))
    units = len(np.unique(groups)) if groups is not None else len(labels)
    what = "subjects" if groups is not None else "samples"
    if k < 2 or k > units:
        raise DataError(f"cannot make {k} folds from {units} {what} (need 2 ≤ folds ≤ {units})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has fewer members than n_splits"
        try:
            if groups is not None:
                splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
                folds = list(splitter.split(idx, labels, groups))
            else:
                folds = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(idx, labels))
        except ValueError as exc:  # every class has fewer samples than folds
            raise DataError(f"cannot make {k} stratified folds: {exc}") from None
    if any(len(te) == 0 for _, te in folds):
        raise DataError(f"{k} folds leave a fold without samples; use fewer folds")
    return folds


def use_groups(ds: FerDataset, group: str, allow_subject_leak: bool = False) -> bool:
    """Whether folds are grouped: `auto` when the data has groups, `subject` requires them, `none` never.

    Raises:
        DataError: unknown mode; `subject` without groups; `none` on CK+ (frames of one subject are
            near-identical, so ungrouped folds leak) unless `allow_subject_leak`.
    """
    if group not in GROUP_MODES:
        raise DataError(f"unknown grouping {group!r}; choose one of {', '.join(GROUP_MODES)}")
    if group == "none":
        if ds.format == "ckplus" and not allow_subject_leak:
            raise DataError(
                "CK+ is always cross-validated by subject: frames of one person are near-identical, so "
                "ungrouped folds put the same face on both sides; use --group subject (or auto). To reproduce "
                "a random-split figure anyway, add --allow-subject-leak (the result is marked leaky)"
            )
        return False
    if allow_subject_leak:
        raise DataError("--allow-subject-leak only goes with --group none")
    if group == "subject" and ds.groups is None:
        raise DataError(f"{ds.root}: this {ds.format} dataset has no subject groups; use --group none")
    return ds.groups is not None


def cv_pool(ds: FerDataset, cfg: Config) -> FerDataset:
    """The samples cross-validated: the only split, or the config's training split when there are several."""
    return ds if len(ds.splits) == 1 else ds.take_split(cfg.data.train_split)


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
    opts = {"label_mode": cfg.data.label_mode} if cfg.data.label_mode else {}
    ds = data if isinstance(data, FerDataset) else load_dataset(data, cfg.data.format, quiet=quiet, **opts)
    pool = cv_pool(ds, cfg)
    grouped = use_groups(pool, group, allow_subject_leak)
    leak = not grouped and pool.groups is not None
    if leak:
        warnings.warn(
            f"{pool.root}: folds ignore subjects: frames of one person are on both sides", stacklevel=2
        )
        pool = replace(pool, groups=None)  # the validation hold-out is random too
    splits = make_folds(pool.labels, pool.groups if grouped else None, folds, seed)
    cfg = replace(cfg, data=replace(cfg.data, val_split=None))
    cv = _CV(cfg, pool, Path(run_dir or f"runs/cv_{cfg.name}"), init_from, tta, quiet, exist_ok, resume)
    _check_plan(cv.root, _plan(pool, splits, grouped, seed, cfg, init_from), resume, exist_ok)
    done = tuple(_fold(cv, i, tr, te, folds) for i, (tr, te) in enumerate(splits, 1))
    result = CVResult(
        folds=done,
        labels=tuple(pool.label_space.names),
        grouped=grouped,
        data=str(data) if not isinstance(data, FerDataset) else ds.root,
        config=cfg.name,
        model=cfg.model.name,
        init_from=str(init_from) if init_from else None,
        seed=seed,
        run_dir=str(cv.root),
        tta=tta,
        subject_leak=leak,
    )
    (cv.root / "cv.json").write_text(json.dumps(result.to_dict(), indent=2))
    return result


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


PLAN_FILE = "cv_plan.json"


def _plan(pool: FerDataset, splits, grouped: bool, seed: int, cfg: Config, init_from) -> dict:
    """What a fold's result depends on besides TTA: the data, the fold assignment, the recipe, the start point."""
    import hashlib

    from ferkit.config import config_to_dict

    def digest(*arrays) -> str:
        h = hashlib.sha256()
        for a in arrays:
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]

    return {
        "folds": len(splits),
        "seed": seed,
        "grouped": grouped,
        "data": digest(pool.images, pool.labels),
        "test_folds": [digest(te) for _, te in splits],
        "config": hashlib.sha256(json.dumps(config_to_dict(cfg), sort_keys=True).encode()).hexdigest()[:16],
        "init_from": str(init_from) if init_from else None,
    }


def _check_plan(root: Path, plan: dict, resume: bool, exist_ok: bool) -> None:
    """Refuse to resume folds made under another plan (their test folds would overlap the new training
    folds); record the plan of a new run."""
    path = root / PLAN_FILE
    if not resume and not exist_ok and path.is_file():
        raise DataError(
            f"{root}: already holds a cross-validation; pass --resume to continue it or --exist-ok to start over"
        )
    if resume and path.is_file():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read the plan of the earlier run ({exc})") from None
        changed = [k for k in plan if old.get(k) != plan[k]]
        if changed:
            raise DataError(
                f"{root}: the earlier cross-validation differs in {', '.join(changed)}; its finished folds "
                f"cannot be reused (their test folds would not be this run's). Use another --run-dir, or "
                f"--exist-ok to start over"
            )
        return
    if resume and any(root.glob("fold_*/fold.json")):
        warnings.warn(
            f"{root}: folds from an older ferkit without {PLAN_FILE}: reused as they are; their data, seed "
            "and recipe cannot be checked",
            stacklevel=3,
        )
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan, indent=2))


def rescored(fr: FoldResult, m, tta: str, **changes) -> FoldResult:
    """`fr` with the test-fold figures of metrics `m` (scored with `tta`) and any other `changes`."""
    return replace(
        fr, accuracy=m.accuracy, macro_f1=m.macro_f1, confusion_matrix=m.confusion_matrix, tta=tta, **changes
    )


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
