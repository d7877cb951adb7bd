"""`ferkit batch --address`: a cluster that cannot be reached is one clear message, not a traceback."""

from __future__ import annotations

import pytest

from ferkit.batch import BatchOptions
from ferkit.errors import FerkitError


def test_an_unreachable_address_names_the_option():
    """The library names the field (`address`); `ferkit batch` says `--address` (see `commands.batch.flag`)."""
    ray = pytest.importorskip("ray", reason="Ray not installed (pip install 'ferkit[ray]')")
    if ray.is_initialized():
        pytest.skip("a Ray cluster is already running in this process")
    import importlib.util

    if importlib.util.find_spec("ray.util.client") and importlib.util.find_spec("grpc"):
        pytest.skip("Ray Client is installed: connecting would wait for its timeout")
    from ferkit.batch.run import _init
    from ferkit.commands.batch import flag

    with pytest.raises(FerkitError, match=r"^address ray://127.0.0.1:1: cannot connect") as caught:
        _init(ray, BatchOptions(address="ray://127.0.0.1:1"))
    assert caught.value.named(flag).startswith("--address ray://127.0.0.1:1: cannot connect")
