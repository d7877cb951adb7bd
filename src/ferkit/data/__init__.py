"""The data layer: every common FER dataset format read into one in-memory form (`FerDataset`), with a cache.

>>> from ferkit.data import load_dataset
>>> ds = load_dataset("path/to/fer2013")          # format auto-detected
>>> test = ds.take_split("public_test")
>>> test.images.shape, test.labels[:5], test.label_space.names
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ferkit.data.dataset import FerDataset
from ferkit.data.formats import detect_format, get_format, list_formats
from ferkit.errors import DataError, did_you_mean

# Each format module registers its layout when imported, as models and detectors do. Import order is detection
# order: the most specific layouts first.
# isort: off
from ferkit.data import packed, fer2013_csv, ferplus, fer2013_folders, ckplus, imagefolder  # noqa: F401, E402

# isort: on

__all__ = ["FerDataset", "load_dataset", "list_formats", "detect_format"]


def load_dataset(
    path: str | Path,
    format: str | None = None,
    *,
    strict: bool = False,
    cache: bool = True,
    quiet: bool = True,
    **options,
) -> FerDataset:
    """Read a FER dataset into memory.

    Args:
        path: a dataset folder, a CSV file or a packed dataset (`ferkit data pack`).
        format: one of `list_formats()`; None detects it from the layout.
        strict: raise on the first unreadable image instead of skipping and listing it.
        cache: read/write the on-disk cache (keyed by the file list, sizes and mtimes).
        quiet: no progress bar while decoding.
        **options: format options, e.g. `label_mode="probability"` for FER+, `size=64` for image folders,
            `labels=[...]` for a CSV with custom classes.

    Raises:
        DataError: bad path, unknown layout or option, malformed file (the message names the file or row).
    """
    from ferkit.data import cache as cache_mod

    if not str(path).strip():
        raise DataError("the dataset path is empty; name a dataset folder, a CSV file or a packed dataset")
    fmt, root = _format_and_root(Path(path).expanduser(), format)
    unknown = [k for k in options if k not in fmt.options]
    if unknown:
        raise DataError(
            f"unknown option {unknown[0]!r} for format {fmt.name}{did_you_mean(unknown[0], list(fmt.options))}; "
            f"options: {', '.join(fmt.options) or 'none'}"
        )
    opts = {**fmt.options, **options}
    files = fmt.inputs(root, opts)
    if not files:
        raise DataError(f"{root}: no files found for format {fmt.name} ({fmt.layout})")
    cache = cache and fmt.cacheable
    key = cache_mod.cache_key(fmt.name, root, files, opts)
    ds = cache_mod.load_cached(key) if cache and not strict else None
    if ds is None:
        ds = fmt.load(root, files, opts, strict, quiet)
        if len(ds) == 0:
            raise DataError(
                f"{root}: no readable images found ({len(ds.unreadable)} unreadable, {ds.ignored} ignored)"
            )
        if cache:
            cache_mod.save_cached(key, ds)
    _warn_unreadable(ds, root)
    return ds


def _format_and_root(root: Path, format: str | None):
    """The dataset format and the folder it lives in: detected, or the named one (descending a wrapper folder,
    e.g. ckplus48/CK+48/, as detection does when it finds that same format there)."""
    if format is None:
        return detect_format(root)
    fmt = get_format(format)
    if not root.exists():
        raise DataError(f"{root}: no such file or directory")
    if not fmt.detect(root):
        try:
            found, inner = detect_format(root)
        except DataError:
            found = None
        if found is fmt:
            root = inner
    return fmt, root


def _warn_unreadable(ds: FerDataset, root: Path) -> None:
    """A warning, not a progress print: shown even when quiet (filter it to silence it)."""
    if ds.unreadable:
        first, reason = ds.unreadable[0]
        warnings.warn(
            f"{root}: skipped {len(ds.unreadable)} unreadable image(s), first {first} ({reason}); "
            f"`ferkit data stats {root}` lists them all",
            stacklevel=3,
        )
