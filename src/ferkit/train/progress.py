"""Per-epoch progress bar (tqdm) with running loss, accuracy and images/s."""

from __future__ import annotations


class Progress:
    def __init__(self, total: int, desc: str, disable: bool) -> None:
        self.bar = None
        if not disable:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="batch", leave=False, mininterval=1.0)
        self.done = 0

    def update(self, done: int, loss: float, acc: float, ips: float) -> None:
        if self.bar is not None:
            self.bar.update(done - self.done)
            self.bar.set_postfix(loss=f"{loss:.4f}", acc=f"{acc:.3f}", img_s=f"{ips:.0f}", refresh=False)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
