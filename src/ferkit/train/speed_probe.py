"""`train.amp: auto` and `train.channels_last: auto` on a CPU: time a few training steps of each setting left to
`auto` (fp32 or bf16 autocast × NCHW or channels-last) for the model at hand and keep the fastest.

Whether bf16 pays depends on the CPU (AMX tiles, AVX-512 bf16 or neither) and on the model (some small CNNs run
slower in bf16 than in fp32), so the measurement decides, not a CPU name. The choice is written into the run's
config (config.yaml says `bf16` or `none`, `on` or `off`), so a resumed run keeps it without probing again.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import time

import torch

from ferkit.config import Config
from ferkit.train.losses import soft_cross_entropy

PROBE_BATCH = 32  # images per timed step (at most train.batch_size)
WARMUP_STEPS = 1
TIMED_STEPS = 3


def _options(value: str, on: str) -> list[bool]:
    """The settings to try for one key: both under auto, else the explicit one."""
    return [False, True] if value == "auto" else [value == on]


def time_setting(model: torch.nn.Module, amp: bool, cl: bool, batch: int, steps: int = TIMED_STEPS) -> float:
    """Training images/s of `model` (a copy is trained; the model is untouched) with bf16 autocast `amp` and
    channels-last `cl`, on random inputs of the model's data config; 0.0 when the setting fails to run."""
    dc = model.data_config
    net = copy.deepcopy(model).train()
    x = torch.randn(batch, dc.channels, dc.input_size, dc.input_size)
    if cl:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    target = torch.full((batch, len(dc.labels)), 1.0 / len(dc.labels))
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            loss = soft_cross_entropy(net(x).float(), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    try:
        for _ in range(WARMUP_STEPS):
            step()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
    except RuntimeError:  # an op without a bf16 CPU kernel on this build: the setting is not usable
        return 0.0
    return batch * steps / (time.perf_counter() - t0)


def resolve_cpu_speed(cfg: Config, model: torch.nn.Module, device: torch.device, log=print) -> Config:
    """`cfg` with `train.amp` and `train.channels_last` made explicit on a CPU when either is `auto`: the fastest
    measured setting (explicit values are kept and only the other key is probed). Other devices, and configs with
    nothing left to `auto`, come back unchanged (CUDA keeps its own `auto` rule). A copy; `cfg` is kept."""
    t = cfg.train
    if device.type != "cpu" or (t.amp != "auto" and t.channels_last != "auto"):
        return cfg
    batch = min(PROBE_BATCH, t.batch_size)
    timings = {
        (amp, cl): time_setting(model, amp, cl, batch)
        for amp, cl in itertools.product(_options(t.amp, "bf16"), _options(t.channels_last, "on"))
    }
    (amp, cl), best = max(timings.items(), key=lambda kv: kv[1])
    if best <= 0:
        amp, cl = False, False
    table = ", ".join(f"{_name(a, c)} {ips:.0f}" for (a, c), ips in timings.items())
    log(
        f"train.amp/channels_last auto on this CPU: {_name(amp, cl)} is fastest for {cfg.model.name} "
        f"(training img/s at batch {batch}: {table}); written into the run's config"
    )
    chosen = dataclasses.replace(t, amp="bf16" if amp else "none", channels_last="on" if cl else "off")
    return dataclasses.replace(cfg, train=chosen)


def _name(amp: bool, cl: bool) -> str:
    return f"{'bf16' if amp else 'fp32'} {'channels-last' if cl else 'NCHW'}"
