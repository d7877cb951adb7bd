"""Batched augmentation: photometric jitter and resolution loss change only the images they select, stay in
range, and are checked in the config."""

from __future__ import annotations

import pytest
import torch

from ferkit.config import AugmentCfg, load_config
from ferkit.errors import ConfigError
from ferkit.train.augment import downscale, photometric


def _faces(n: int = 64, size: int = 48) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0.1, 0.9, size).view(1, 1, 1, size).expand(n, 1, size, size)
    return (ramp + 0.05 * torch.randn(n, 1, size, size, generator=g)).clamp(0, 1)


def test_photometric_changes_the_selected_images_only_and_stays_in_range():
    x = _faces()
    g = torch.Generator().manual_seed(1)
    y = photometric(x, AugmentCfg(photometric=0.5, brightness=0.3, contrast=0.5, gamma=0.5), g)
    changed = (y - x).abs().amax(dim=(1, 2, 3)) > 1e-4
    assert 16 < int(changed.sum()) < 48  # about half of 64
    assert float(y.min()) >= 0 and float(y.max()) <= 1
    assert torch.equal(y[~changed], x[~changed])
    assert torch.equal(photometric(x, AugmentCfg(photometric=0.0), g), x)
    assert torch.allclose(
        photometric(x, AugmentCfg(photometric=1.0, brightness=0, contrast=0, gamma=0), g), x, atol=1e-5
    )


def test_downscale_softens_the_selected_images_and_keeps_their_size():
    x = _faces()
    g = torch.Generator().manual_seed(2)
    y = downscale(x, AugmentCfg(downscale=1.0, downscale_min=0.3), g)
    assert y.shape == x.shape
    sharp = (x[..., 1:] - x[..., :-1]).abs().mean()
    soft = (y[..., 1:] - y[..., :-1]).abs().mean()
    assert soft < 0.8 * sharp  # the pixel noise is blurred away
    assert torch.equal(downscale(x, AugmentCfg(downscale=0.0), g), x)
    half = downscale(x, AugmentCfg(downscale=0.5, downscale_min=0.3), torch.Generator().manual_seed(3))
    changed = (half - x).abs().amax(dim=(1, 2, 3)) > 1e-4
    assert 16 < int(changed.sum()) < 48 and torch.equal(half[~changed], x[~changed])


@pytest.mark.parametrize(
    "override",
    ["augment.photometric=1.5", "augment.contrast=1", "augment.downscale_min=0", "augment.gamma=2"],
)
def test_absurd_photometric_settings_are_refused_by_name(override: str):
    with pytest.raises(ConfigError, match=override.split("=")[0]):
        load_config(None, [override])
