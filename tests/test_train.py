"""Trainer: outputs, exact resume, real learning, refusals, NaN and disk-full handling, DDP."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from tests._synthetic import bar_dataset, write_bar_csv

from ferkit.config import load_config
from ferkit.errors import ConfigError, ModelError, TrainingError
from ferkit.models import load_model, read_checkpoint_meta
from ferkit.train import fit
from ferkit.train.build import build_model

FAST = [
    "model.name=seed_keras_cnn",
    "train.batch_size=32",
    "train.threads=1",
    "optim.lr=0.05",
    "augment.erase=0",
    "augment.rotate=3",
    "augment.translate=0.03",
    "train.amp=none",  # explicit: runs compared with each other must not depend on a timed choice
    "train.channels_last=off",
]


def _cfg(*extra):
    return load_config(None, FAST + list(extra))


def _run_until_killed(monkeypatch, name, dying, cfg, run_dir, train, val):
    """Run `fit` with <name> replaced by `dying(real)` (which raises KeyboardInterrupt at some epoch) where the
    training run calls it (the trainer, or the module that saves each epoch), then put the real function back."""
    import ferkit.train.saving as saving
    import ferkit.train.trainer as trainer

    module = trainer if name in vars(trainer) else saving
    real = getattr(module, name)
    monkeypatch.setattr(module, name, dying(real))
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, run_dir, train=train, val=val, quiet=True)
    monkeypatch.setattr(module, name, real)


def test_cli_one_epoch_writes_every_output(tmp_path):
    csv = write_bar_csv(tmp_path / "bars.csv", 10, 3)
    run = tmp_path / "run"
    env = {**os.environ, "FERKIT_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [
        sys.executable,
        "-m",
        "ferkit",
        "train",
        "--data",
        str(csv),
        "--run-dir",
        str(run),
        "--quiet",
        *[a for kv in FAST + ["train.epochs=1"] for a in ("--set", kv)],
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    for name in (
        "history.csv",
        "curves.png",
        "best.safetensors",
        "last.safetensors",
        "last_state.safetensors",
        "config.yaml",
        "summary.json",
    ):
        assert (run / name).is_file(), name
    meta = read_checkpoint_meta(run / "best.safetensors")
    assert meta["config"]["model"]["name"] == "seed_keras_cnn"
    assert meta["val_split"] == "public_test" and meta["epoch"] == 1
    assert load_model(run / "best.safetensors").data_config.labels.names[3] == "happy"
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr


def test_resume_after_kill_continues_exactly(tmp_path, monkeypatch):
    ds = bar_dataset(8, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    cfg = _cfg("train.epochs=3", "augment.mixup=0.4", "train.ema=0.9")
    full = fit(cfg, tmp_path / "full", train=train, val=val, quiet=True)

    def save_then_die(real):
        def save(run, state, row, *a, **kw):
            real(run, state, row, *a, **kw)
            if row["epoch"] == 1:
                raise KeyboardInterrupt  # killed right after epoch 1 was saved

        return save

    _run_until_killed(monkeypatch, "save_epoch", save_then_die, cfg, tmp_path / "cut", train, val)
    resumed = fit(cfg, tmp_path / "cut", train=train, val=val, resume=True, quiet=True)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    for a, b in zip(full.history, resumed.history, strict=False):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-6)
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-6)


def test_save_every_resumes_from_the_last_full_save(tmp_path, monkeypatch):
    ds = bar_dataset(8, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    cfg = _cfg("train.epochs=4", "train.save_every=2")
    full = fit(cfg, tmp_path / "full", train=train, val=val, quiet=True)
    assert (
        read_checkpoint_meta(tmp_path / "full" / "last.safetensors")["epoch"] == 4
    )  # the final epoch always

    def save_then_die(real):
        def save(*a, **kw):
            real(*a, **kw)
            if a[2]["epoch"] == 3:
                raise KeyboardInterrupt  # killed after epoch 3, whose state was not saved (save_every=2)

        return save

    _run_until_killed(monkeypatch, "save_epoch", save_then_die, cfg, tmp_path / "cut", train, val)
    assert read_checkpoint_meta(tmp_path / "cut" / "last.safetensors")["epoch"] == 2
    resumed = fit(cfg, tmp_path / "cut", train=train, val=val, resume=True, quiet=True)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    for a, b in zip(full.history, resumed.history, strict=True):
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-6)
    with pytest.raises(ConfigError, match="save_every"):  # named when the config is read
        _cfg("train.save_every=0")


def test_learns_a_learnable_task(tmp_path):
    ds = bar_dataset(24, 8)
    cfg = _cfg("train.epochs=6", "schedule.name=onecycle")
    res = fit(cfg, tmp_path / "r", train=ds.take_split("train"), val=ds.take_split("public_test"), quiet=True)
    assert res.best_metrics["val_acc"] >= 0.9, res.history


def test_holdout_and_class_balancing(tmp_path):
    ds = bar_dataset(10, 2)
    cfg = _cfg(
        "train.epochs=1",
        "data.val_split=null",
        "data.val_fraction=0.2",
        "train.sampler=balanced",
        "train.class_weights=balanced",
        "train.grad_clip=1.0",
        "schedule.name=cosine",
        "schedule.warmup_epochs=0.5",
        "optim.name=adamw",
        "optim.lr=0.001",
    )
    from ferkit.train.data_setup import split_train_val

    train, val = split_train_val(ds, cfg)
    assert len(val) == pytest.approx(0.2 * 70, abs=1) and set(np.unique(val.labels)) == set(range(7))
    res = fit(cfg, tmp_path / "r", train=train, val=val, quiet=True)
    assert res.best_epoch == 1


def test_refuses_selection_on_test_split():
    ds = bar_dataset(2, 1)
    from ferkit.train.data_setup import split_train_val

    with pytest.raises(TrainingError, match="test split"):
        split_train_val(ds, _cfg("data.val_split=private_test"))
    with pytest.raises(TrainingError, match="no validation split 'private_test'.*public_test"):
        split_train_val(ds, _cfg("data.val_split=private_test", "data.allow_test_selection=true"))


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    ds = bar_dataset(8, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    cfg = _cfg("train.epochs=3")
    import ferkit.train.loop as loop

    real = loop.soft_cross_entropy
    calls = {"n": 0}

    def nan_in_epoch_two(*a, **k):
        calls["n"] += 1
        out = real(*a, **k)
        return out * float("nan") if calls["n"] > 1 else out  # 1 step per epoch: epoch 2 goes NaN

    monkeypatch.setattr(loop, "soft_cross_entropy", nan_in_epoch_two)
    with pytest.raises(TrainingError, match="loss became nan"):
        fit(cfg, tmp_path / "r", train=train, val=val, quiet=True)
    assert read_checkpoint_meta(tmp_path / "r" / "last.safetensors")["epoch"] == 1


def test_disk_full_keeps_previous_state(tmp_path, monkeypatch):
    ds = bar_dataset(8, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    cfg = _cfg("train.epochs=2")
    import safetensors
    import safetensors.torch

    real = safetensors.torch.save_file
    calls = {"n": 0}

    def full_disk(tensors, filename, metadata=None):  # safetensors' own error type, as a real full disk gives
        if "last_state" in str(filename):
            calls["n"] += 1
            if calls["n"] == 2:
                raise safetensors.SafetensorError("I/O error: No space left on device (os error 28)")
        return real(tensors, filename, metadata=metadata)

    monkeypatch.setattr(safetensors.torch, "save_file", full_disk)
    with pytest.raises(TrainingError, match="previous checkpoint is kept"):
        fit(cfg, tmp_path / "r", train=train, val=val, quiet=True)
    from ferkit.train.build import build_model, make_optimizer
    from ferkit.train.state import load_state

    model = build_model(cfg, train.label_space, None, False)
    info, _ = load_state(tmp_path / "r" / "last_state.safetensors", model, make_optimizer(cfg, model), "cpu")
    assert info["epoch"] == 1
    assert not list((tmp_path / "r").glob("*.tmp"))


def test_init_from_replaces_classifier_and_checks_model(tmp_path):
    ds = bar_dataset(6, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    first = fit(_cfg("train.epochs=1"), tmp_path / "a", train=train, val=val, quiet=True)
    from ferkit.labels import CKPLUS7

    ck_train = train.subset(np.arange(len(train)))
    ck_train.label_space = CKPLUS7
    ck_val = val.subset(np.arange(len(val)))
    ck_val.label_space = CKPLUS7
    res = fit(
        _cfg("train.epochs=1"),
        tmp_path / "b",
        train=ck_train,
        val=ck_val,
        init_from=str(first.best_path),
        freeze_features=True,
        quiet=True,
    )
    assert load_model(res.best_path).data_config.labels == CKPLUS7
    with pytest.raises(ModelError, match="set model.name=seed_keras_cnn"):
        fit(
            _cfg("train.epochs=1", "model.name=mobilefer"),
            tmp_path / "c",
            train=train,
            val=val,
            init_from=str(first.best_path),
            quiet=True,
        )


def test_ddp_two_cpu_processes_end_with_identical_weights(tmp_path):
    csv = write_bar_csv(tmp_path / "bars.csv", 10, 3)
    run = tmp_path / "ddp"
    env = {**os.environ, "FERKIT_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port=29517",
        "-m",
        "ferkit",
        "train",
        "--data",
        str(csv),
        "--run-dir",
        str(run),
        "--quiet",
        *[a for kv in FAST + ["train.epochs=2", "train.batch_size=8"] for a in ("--set", kv)],
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["ddp_max_weight_diff"] == 0.0


def test_early_stopping_and_plateau_schedule(tmp_path, monkeypatch):
    ds = bar_dataset(6, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    import ferkit.train.trainer as trainer

    real = trainer.validate
    monkeypatch.setattr(
        trainer, "validate", lambda *a, **k: {**real(*a, **k), "val_acc": 0.5}
    )  # never improves
    cfg = _cfg("train.epochs=10", "train.early_stopping=2", "schedule.name=plateau", "schedule.patience=0")
    res = fit(cfg, tmp_path / "r", train=train, val=val, quiet=True)
    assert [r["epoch"] for r in res.history] == [1, 2, 3] and res.best_epoch == 1
    lrs = [r["lr"] for r in res.history]
    assert lrs[0] == pytest.approx(0.05) and lrs[1] == pytest.approx(0.05) and lrs[2] == pytest.approx(0.025)


def test_schedules_shapes():
    from ferkit.config import ScheduleCfg
    from ferkit.train.schedules import lr_at

    one = ScheduleCfg(name="onecycle", pct_start=0.25)
    lrs = [lr_at(s, 100, 10, 0.1, one) for s in range(100)]
    assert max(lrs) == pytest.approx(0.1, rel=1e-3) and lrs.index(max(lrs)) == 25 and lrs[-1] < 1e-4
    cos = ScheduleCfg(name="cosine", warmup_epochs=1)
    assert lr_at(0, 100, 10, 0.1, cos) == pytest.approx(0.01) and lr_at(
        10, 100, 10, 0.1, cos
    ) == pytest.approx(0.1)
    assert lr_at(25, 100, 10, 0.1, ScheduleCfg(name="step", step_size=1, gamma=0.5)) == pytest.approx(0.025)


def test_resuming_an_early_stopped_run_trains_no_more(tmp_path, monkeypatch):
    ds = bar_dataset(6, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    import ferkit.train.trainer as trainer

    real = trainer.validate
    monkeypatch.setattr(trainer, "validate", lambda *a, **k: {**real(*a, **k), "val_acc": 0.5})
    cfg = _cfg("train.epochs=10", "train.early_stopping=1")
    first = fit(cfg, tmp_path / "r", train=train, val=val, quiet=True)
    again = fit(cfg, tmp_path / "r", train=train, val=val, resume=True, quiet=True)
    assert len(first.history) == 2 and [r["epoch"] for r in again.history] == [1, 2]


def test_unwrap_sees_through_compile_and_ddp_wrappers():
    from ferkit.train.loop import _unwrap

    inner = torch.nn.Linear(2, 2)

    class Wrap(torch.nn.Module):
        def __init__(self, attr, m):
            super().__init__()
            setattr(self, attr, m)

    assert _unwrap(Wrap("_orig_mod", Wrap("module", inner))) is inner
    assert _unwrap(inner) is inner


def test_ferplus_losses():
    from ferkit.train.losses import multi_target_loss

    logits = torch.tensor([[2.0, 0.0, -1.0]])
    target = torch.tensor([[0.5, 0.5, 0.0]])
    p = torch.softmax(logits, 1)[0]
    # the reference's −log max(target · p): the best acceptable class counts, not their sum
    assert float(multi_target_loss(logits, target)) == pytest.approx(float(-torch.log(p[0])), abs=1e-6)
    flipped = torch.tensor([[0.0, 0.5, 0.5]])
    assert float(multi_target_loss(logits, flipped)) == pytest.approx(float(-torch.log(p[1])), abs=1e-6)


def test_distillation_blends_the_teachers_predictions_into_the_targets(tmp_path, monkeypatch):
    from ferkit.labels import CKPLUS7
    from ferkit.train.loop import predict_logits

    ds = bar_dataset(6, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    teacher = fit(_cfg("train.epochs=1"), tmp_path / "t", train=train, val=val, quiet=True)
    import ferkit.train.trainer as trainer

    seen = {}
    real = trainer._epoch_data

    def spy(*a, **kw):
        data = real(*a, **kw)
        seen["targets"] = data.targets.clone()
        return data

    monkeypatch.setattr(trainer, "_epoch_data", spy)
    opts = [
        f"train.distill_from={teacher.best_path}",
        "train.distill_weight=0.7",
        "train.distill_temperature=2",
    ]
    res = fit(_cfg("train.epochs=1", *opts), tmp_path / "s", train=train, val=val, quiet=True)
    t_model = load_model(teacher.best_path)
    probs = torch.softmax(
        predict_logits(t_model, train.images, t_model.data_config, "cpu") / 2, dim=1
    ).numpy()
    onehot = np.eye(7, dtype=np.float32)[train.labels]
    np.testing.assert_allclose(seen["targets"].numpy(), 0.3 * onehot + 0.7 * probs, atol=1e-5)
    assert not np.allclose(seen["targets"].numpy(), onehot)
    assert read_checkpoint_meta(res.best_path)["config"]["train"]["distill_from"] == [str(teacher.best_path)]

    # two teachers: an ensemble whose softened probabilities are averaged
    second = fit(_cfg("train.epochs=1", "train.seed=5"), tmp_path / "t2", train=train, val=val, quiet=True)
    pair = f"train.distill_from=[{teacher.best_path}, {second.best_path}]"
    fit(_cfg("train.epochs=1", *opts[1:], pair), tmp_path / "s2", train=train, val=val, quiet=True)
    s_model = load_model(second.best_path)
    probs2 = torch.softmax(
        predict_logits(s_model, train.images, s_model.data_config, "cpu") / 2, dim=1
    ).numpy()
    assert not np.allclose(probs, probs2, atol=1e-3)
    np.testing.assert_allclose(seen["targets"].numpy(), 0.3 * onehot + 0.7 * (probs + probs2) / 2, atol=1e-5)

    ck_train = train.subset(np.arange(len(train)))
    ck_train.label_space = CKPLUS7
    with pytest.raises(ModelError, match="the teacher predicts angry, disgust"):
        fit(_cfg("train.epochs=1", *opts), tmp_path / "ck", train=ck_train, val=val, quiet=True)
    from ferkit.errors import ConfigError

    for bad, msg in (
        ("train.distill_weight=0", "distill_weight"),
        ("train.distill_temperature=-1", "temperature"),
        ("train.distill_amp=fp8", "distill_amp"),
        ("train.distill_from=[]", "empty list"),
    ):
        with pytest.raises(ConfigError, match=msg):
            fit(_cfg("train.epochs=1", *opts, bad), tmp_path / "bad", train=train, val=val, quiet=True)


def test_teacher_logits_are_cached_per_checkpoint_and_images(tmp_path, monkeypatch, cache_dir):
    """A second distillation from the same teacher on the same images reads its logits from the cache; other
    images, or a corrupt cache file, make the teacher run again."""
    import ferkit.train.distill as distill

    ds = bar_dataset(6, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    teacher = fit(_cfg("train.epochs=1"), tmp_path / "t", train=train, val=val, quiet=True)
    calls = []
    real = distill.predict_logits
    monkeypatch.setattr(distill, "predict_logits", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = distill.teacher_probs(str(teacher.best_path), train.images, train.label_space, 2.0, "cpu", False)
    again = distill.teacher_probs(str(teacher.best_path), train.images, train.label_space, 2.0, "cpu", False)
    assert len(calls) == 1 and list(cache_dir.glob("teacher-*.npy"))
    np.testing.assert_allclose(first, again, atol=1e-6)
    hotter = distill.teacher_probs(str(teacher.best_path), train.images, train.label_space, 4.0, "cpu", False)
    assert len(calls) == 1 and not np.allclose(first, hotter)  # temperature applies after the cache
    distill.teacher_probs(str(teacher.best_path), train.images[:5], train.label_space, 2.0, "cpu", False)
    assert len(calls) == 2
    for f in cache_dir.glob("teacher-*.npy"):
        f.write_bytes(b"not an array")
    with pytest.warns(UserWarning, match="ignoring unreadable teacher cache"):
        redo = distill.teacher_probs(
            str(teacher.best_path), train.images, train.label_space, 2.0, "cpu", False
        )
    assert len(calls) == 3
    np.testing.assert_allclose(first, redo, atol=1e-6)
    shipped = distill.teacher_probs("fast", train.images, train.label_space, 2.0, "cpu", False)
    assert shipped.shape == first.shape and len(calls) == 4  # a shipped model's name is a teacher too


# ---------------------------------------------------------------------------------------------------- run hygiene


def test_an_interrupted_save_leaves_no_hole_in_the_history(tmp_path, monkeypatch):
    ds = bar_dataset(8, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    cfg = _cfg("train.epochs=3")

    def die_while_saving(real):
        def save(path, model, opt, ema, info):
            if info["epoch"] == 2:
                raise KeyboardInterrupt  # Ctrl-C in the middle of epoch 2's save
            real(path, model, opt, ema, info)

        return save

    _run_until_killed(monkeypatch, "save_state", die_while_saving, cfg, tmp_path / "cut", train, val)
    resumed = fit(cfg, tmp_path / "cut", train=train, val=val, resume=True, quiet=True)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    rows = (tmp_path / "cut" / "history.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == [1, 2, 3]


def test_resume_with_another_model_or_optimizer_is_refused_by_name(tmp_path):
    ds = bar_dataset(8, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    fit(_cfg("train.epochs=1"), tmp_path / "r", train=train, val=val, quiet=True)
    more = ["train.epochs=2"]
    with pytest.raises(TrainingError, match=r"trained 'seed_keras_cnn'.*own config \(-c .*config.yaml\)"):
        fit(
            _cfg(*more, "model.name=mobilefer"), tmp_path / "r", train=train, val=val, resume=True, quiet=True
        )
    with pytest.raises(TrainingError, match="another optimizer"):
        fit(_cfg(*more, "optim.name=adamw"), tmp_path / "r", train=train, val=val, resume=True, quiet=True)
    with pytest.raises(TrainingError, match="does not fit this model"):
        fit(_cfg(*more), tmp_path / "r", train=train, val=val, resume=True, freeze_features=True, quiet=True)
    assert [
        r["epoch"] for r in fit(_cfg(*more), tmp_path / "r", train=train, val=val, resume=True).history
    ] == [
        1,
        2,
    ]


def test_cli_resume_without_a_config_uses_the_runs_own(tmp_path):
    csv = write_bar_csv(tmp_path / "bars.csv", 6, 2)
    run = tmp_path / "run"
    env = {**os.environ, "FERKIT_CACHE_DIR": str(tmp_path / "cache")}
    base = [sys.executable, "-m", "ferkit", "train", "--data", str(csv), "--run-dir", str(run), "--quiet"]
    first = subprocess.run(
        base + [a for kv in FAST + ["train.epochs=1"] for a in ("--set", kv)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        base + ["--resume", "--set", "train.epochs=2"], capture_output=True, text=True, env=env, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert read_checkpoint_meta(run / "last.safetensors")["model_name"] == "seed_keras_cnn"
    assert read_checkpoint_meta(run / "last.safetensors")["epoch"] == 2
    earlier = (run / "config.until-epoch-1.yaml").read_text()  # the changed setting keeps the old recipe
    assert "epochs: 1" in earlier and "epochs: 2" in (run / "config.yaml").read_text()


def test_run_directory_problems_are_named(tmp_path):
    ds = bar_dataset(8, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(TrainingError, match="is an existing file"):
        fit(_cfg("train.epochs=1"), tmp_path / "afile", train=train, val=val, quiet=True)
    started = tmp_path / "started"  # interrupted during epoch 1: only its config was written
    started.mkdir()
    (started / "config.yaml").write_text("name: run\n")
    assert fit(_cfg("train.epochs=1"), started, train=train, val=val, quiet=True).best_epoch == 1
    (tmp_path / "best_only").mkdir()
    (tmp_path / "best_only" / "best.safetensors").write_bytes(b"x")
    with pytest.raises(TrainingError, match="before its first saved epoch.*--exist-ok"):
        fit(_cfg("train.epochs=1"), tmp_path / "best_only", train=train, val=val, resume=True, quiet=True)


def test_small_datasets_get_a_hold_out_or_a_clear_message():
    from ferkit.train.data_setup import holdout

    ds = bar_dataset(6, 1).take_split("train")  # 42 images of 7 classes: a 10 % hold-out (5) cannot hold each
    train, val = holdout(ds, 0.1, 0)
    assert len(val) == 5 and len(train) == 37
    grouped = ds.subset(np.arange(len(ds)))
    grouped.groups = np.arange(len(ds)) % 4  # 4 subjects cannot give a 1-in-10 hold-out by subject
    with pytest.raises(TrainingError, match=r"at least 10 subjects, the training data has 4.*0\.25"):
        holdout(grouped, 0.1, 0)


def test_multi_target_refuses_mixup(tmp_path):
    import dataclasses

    from ferkit.errors import ConfigError

    with pytest.raises(ConfigError, match="config: augment.mixup.*multi_target"):  # named when read
        _cfg("data.label_mode=multi_target", "augment.mixup=0.4")
    cfg = _cfg("data.label_mode=multi_target")
    cfg = dataclasses.replace(cfg, augment=dataclasses.replace(cfg.augment, mixup=0.4))  # built in Python
    ds = bar_dataset(4, 1)
    with pytest.raises(ConfigError, match="mixup.*multi_target"):
        fit(cfg, tmp_path / "r", train=ds.take_split("train"), val=ds.take_split("public_test"), quiet=True)
    assert not (tmp_path / "r").exists()  # refused before any work


def test_multi_target_trains_without_a_teacher():
    from ferkit.errors import ConfigError

    _cfg("data.label_mode=multi_target")  # no distill_from: nothing to refuse
    with pytest.raises(ConfigError, match="train.distill_from.*multi_target"):
        _cfg("data.label_mode=multi_target", "train.distill_from=a.safetensors")
    with pytest.raises(ConfigError, match="train.distill_from is an empty list"):
        _cfg("train.distill_from=[]")
    assert _cfg("train.distill_from=a.safetensors").train.distill_from == ["a.safetensors"]


def test_auto_speed_probe_times_each_setting_and_records_its_choice(tmp_path, monkeypatch):
    import yaml

    import ferkit.train.speed_probe as probe

    timed = []

    def fake_time(model, amp, cl, batch, steps=3):
        timed.append((amp, cl))
        return {(False, False): 10.0, (False, True): 12.0, (True, False): 30.0, (True, True): 25.0}[(amp, cl)]

    monkeypatch.setattr(probe, "time_setting", fake_time)
    ds = bar_dataset(4, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    logs = []
    cfg = load_config(None, [*FAST[:-2], "train.epochs=1", "train.amp=auto", "train.channels_last=auto"])
    model = build_model(cfg, train.label_space, None, False)
    chosen = probe.resolve_cpu_speed(cfg, model, torch.device("cpu"), logs.append)
    assert sorted(timed) == [(False, False), (False, True), (True, False), (True, True)]
    assert (chosen.train.amp, chosen.train.channels_last) == ("bf16", "off")
    assert "bf16 NCHW is fastest" in logs[0] and cfg.train.amp == "auto"  # the caller's config is kept

    res = fit(cfg, tmp_path / "run", train=train, val=val, quiet=True)
    saved = yaml.safe_load((res.run_dir / "config.yaml").read_text())["train"]
    assert (saved["amp"], saved["channels_last"]) == ("bf16", "off")
    assert read_checkpoint_meta(res.best_path)["config"]["train"]["amp"] == "bf16"


def test_explicit_speed_settings_win_over_the_probe(monkeypatch):
    import ferkit.train.speed_probe as probe

    timed = []
    monkeypatch.setattr(probe, "time_setting", lambda m, a, c, b, steps=3: timed.append((a, c)) or float(c))
    ds = bar_dataset(4, 2)
    model = build_model(_cfg(), ds.label_space, None, False)
    assert probe.resolve_cpu_speed(_cfg(), model, torch.device("cpu")) == _cfg()  # nothing left to auto
    assert timed == []
    half = load_config(None, [*FAST[:-2], "train.amp=none", "train.channels_last=auto"])
    chosen = probe.resolve_cpu_speed(half, model, torch.device("cpu"), lambda *a: None)
    assert timed == [(False, False), (False, True)]  # only the key left to auto is probed
    assert (chosen.train.amp, chosen.train.channels_last) == ("none", "on")
    assert probe.resolve_cpu_speed(half, model, torch.device("meta")) is half  # CUDA keeps its own rule


def test_time_setting_measures_a_real_training_step():
    from ferkit.models import create_model
    from ferkit.train.speed_probe import time_setting

    model = create_model("seed_cnn4c3f_28")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert time_setting(model, amp=False, cl=True, batch=4, steps=1) > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # a copy was trained


def test_a_resumed_run_keeps_the_speed_settings_its_config_recorded(tmp_path):
    from ferkit.config import save_config
    from ferkit.train.trainer import _kept_speed

    auto = load_config(None, [*FAST[:-2], "train.amp=auto", "train.channels_last=auto"])
    assert _kept_speed(auto, tmp_path) is auto  # no config.yaml yet: nothing to keep
    save_config(
        load_config(None, [*FAST[:-2], "train.amp=bf16", "train.channels_last=off"]), tmp_path / "config.yaml"
    )
    kept = _kept_speed(auto, tmp_path)
    assert (kept.train.amp, kept.train.channels_last) == ("bf16", "off")
    explicit = _cfg()
    assert _kept_speed(explicit, tmp_path) is explicit  # explicit values win
