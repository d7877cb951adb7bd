"""Can `fernet` start from a trained `resnet18_fer` instead of from scratch?

fernet at width 1 has exactly resnet18_fer's four stages and classifier; only the stem differs (a stride-2 stem,
so the stages run at 24/12/6/3 instead of 48/24/12/6). From scratch on the CPU it needs hundreds of epochs. This
script copies every stage and the classifier from a resnet18_fer checkpoint, fits the new stem alone so that its
output matches the ResNet stem's output average-pooled to 24×24 (MSE, Adam, flipped training faces), scores
PublicTest before and after the stem fit, and writes a fernet checkpoint to fine-tune with
`ferkit train --init-from OUT`. The figures go to benchmarks/RESULTS.md.

    python -m studies.transplant_fernet default --data runs/campaign/data/fer2013.npz --out runs/transplant/fernet.safetensors
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from benchmarks.record import record


def transplant(teacher: torch.nn.Module) -> torch.nn.Module:
    """A fernet ×1 with every tensor of `teacher` outside the stem (`features.0`) copied over."""
    from ferkit.models import create_model

    kwargs = {k: v for k, v in teacher.model_kwargs.items() if k in ("drop_rate", "attention")}
    student = create_model("fernet", labels=teacher.data_config.labels, width_mult=1.0, **kwargs)
    mine, theirs = student.state_dict(), teacher.state_dict()
    matched = {
        k: theirs[k] for k in mine if not k.startswith("features.0.") and theirs[k].shape == mine[k].shape
    }
    missing = [k for k in mine if k not in matched and not k.startswith("features.0.")]
    if missing:
        raise SystemExit(f"the teacher's stages do not fit fernet: {missing[:5]}")
    student.load_state_dict(matched, strict=False)
    return student


def fit_stem(student, teacher, images: torch.Tensor, steps: int, batch: int, lr: float) -> list[float]:
    """Train the student's stem alone: MSE to the teacher stem's output, 2×2 average-pooled."""
    from ferkit.models.data_config import preprocess

    stem_s, stem_t = student.features[0], teacher.features[0]
    opt = torch.optim.Adam(stem_s.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(0)
    stem_s.train()
    losses = []
    for _ in range(steps):
        idx = torch.randint(len(images), (batch,), generator=g)
        x = preprocess(images[idx], student.data_config)
        flip = torch.rand(batch, generator=g) < 0.5
        x[flip] = x[flip].flip(-1)
        with torch.no_grad():
            target = F.avg_pool2d(stem_t(x), 2)
        loss = F.mse_loss(stem_s(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    student.eval()
    return losses


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("teacher", help="a resnet18_fer checkpoint or shipped name")
    ap.add_argument("--data", required=True, help="FER2013 with train and public_test splits")
    ap.add_argument("--out", required=True, help="where to write the fernet checkpoint")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    args = ap.parse_args(argv)

    from ferkit.data import load_dataset
    from ferkit.evaluate import evaluate
    from ferkit.models import load_model, save_checkpoint

    torch.manual_seed(0)
    teacher = load_model(args.teacher).float()
    ds = load_dataset(args.data)
    test = ds.take_split("public_test")

    def accuracy(model) -> float:
        return evaluate(model, test).metrics.accuracy

    student = transplant(teacher)
    before = accuracy(student)
    t0 = time.perf_counter()
    losses = fit_stem(
        student, teacher, torch.as_tensor(ds.take_split("train").images), args.steps, args.batch, args.lr
    )
    seconds = time.perf_counter() - t0
    after = accuracy(student)
    ref = accuracy(teacher)
    save_checkpoint(args.out, student, {"transplanted_from": str(args.teacher)})
    lines = [
        "| model | PublicTest (fp32) |",
        "|---|---|",
        f"| teacher `{args.teacher}` (resnet18_fer) | {ref:.2%} |",
        f"| fernet ×1, stages copied, stem untrained | {before:.2%} |",
        f"| fernet ×1, stem fitted ({args.steps} steps, {seconds:.0f} s, final MSE {sum(losses[-50:]) / 50:.4f}) "
        f"| {after:.2%} |",
    ]
    print("\n".join(lines))
    record("fernet transplanted from resnet18_fer", "\n".join(lines))


if __name__ == "__main__":
    main()
