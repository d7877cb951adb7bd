"""`FerNet`: the one shape every ferkit model has — `features` → `neck` → `head`.

- `features`: the convolutional trunk, an `nn.Sequential` of stages (its children are the blocks that
  `summary.draw_diagram` draws);
- `neck`: pooling, flatten and any hidden fully-connected layers, ending in an embedding vector;
- `head`: the final `nn.Linear` mapping the embedding to one logit per class.

The trainer replaces the head with `reset_head`, freezes the rest with `freeze_features`, and finds the head's
state-dict keys with `classifier_keys` (always `head.weight` and `head.bias`).
"""

from __future__ import annotations

import torch
from torch import nn

from ferkit.labels import LabelSpace


class FerNet(nn.Module):
    """A facial-expression network: `head(neck(features(x)))`, returning logits (no softmax).

    `create_model` also sets `data_config`, `model_name` and `model_kwargs` on every instance.

    Args:
        features: Convolutional trunk mapping N×C×H×W images to feature maps.
        neck: Pooling / flatten / hidden layers mapping the feature maps to N×D embeddings.
        head: Final linear classifier D → num_classes.
    """

    def __init__(self, features: nn.Module, neck: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.features = features
        self.neck = neck
        self.head = head

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Embedding before the classifier, N×D."""
        return self.neck(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits N×num_classes."""
        return self.head(self.forward_features(x))

    @property
    def num_classes(self) -> int:
        """Number of outputs of the head."""
        return self.head.out_features

    def classifier_keys(self) -> list[str]:
        """State-dict keys of the classifier (the `head` linear layer)."""
        return [f"head.{k}" for k in self.head.state_dict()]

    def freeze_features(self, freeze: bool = True) -> None:
        """Stop (or restart) gradient updates of everything but the head.

        Only `requires_grad` changes; batch-norm statistics still update in train mode, so a trainer that wants
        them fixed should also call `model.features.eval()` and `model.neck.eval()` after `model.train()`.
        """
        for name, param in self.named_parameters():
            if not name.startswith("head."):
                param.requires_grad_(not freeze)

    def reset_head(self, labels: LabelSpace) -> nn.Linear:
        """Replace the head with a freshly initialised one for `labels`, and update `data_config` to match."""
        old = self.head
        self.head = nn.Linear(old.in_features, len(labels)).to(old.weight.device)
        init_weights(self.head)
        if hasattr(self, "data_config"):
            self.data_config = self.data_config.with_labels(labels)
        return self.head


def init_weights(module: nn.Module) -> None:
    """Kaiming-normal convolutions, unit batch-norm, small-normal linear layers, zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def conv_bn_act(
    c_in: int, c_out: int, kernel: int = 3, stride: int = 1, act: type[nn.Module] = nn.ReLU, groups: int = 1
) -> nn.Sequential:
    """Conv (same padding, no bias) → BatchNorm → activation."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        act(inplace=True),
    )


def fc_bn_act(d_in: int, d_out: int, dropout: float, act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear → BatchNorm1d → activation → dropout: the hidden fully-connected block of the seed models."""
    return nn.Sequential(
        nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out), act(inplace=True), nn.Dropout(dropout)
    )
