"""Dataset statistics: per split and class counts, image sizes/modes, unreadable files and exact duplicates."""

from __future__ import annotations

from ferkit._table import format_table
from ferkit.data.dataset import FerDataset
from ferkit.data.duplicates import duplicate_summary


def dataset_stats(ds: FerDataset) -> dict:
    """A JSON-ready summary of a dataset (the schema of `ferkit data stats --json`)."""
    return {
        "format": ds.format,
        "root": ds.root,
        "n": len(ds),
        "label_space": ds.label_space.to_dict(),
        "image_shape": list(ds.images.shape[1:]),
        "splits": {s: {"total": sum(c.values()), "per_class": c} for s, c in ds.counts_per_split().items()},
        "source_images": ds.image_info,
        "groups": None if ds.groups is None else int(len(set(ds.groups.tolist()))),
        "duplicates": duplicate_summary(ds.images, ds.labels, ds.split_ids),
        "unreadable": [p for p, _ in ds.unreadable],
        "unreadable_reasons": {p: r for p, r in ds.unreadable},
        "ignored_files": ds.ignored,
        "notes": ds.notes,
    }


def format_stats(stats: dict) -> str:
    """The human-readable report printed by `ferkit data stats`."""
    splits = list(stats["splits"])
    labels = stats["label_space"]["names"]
    rows = [[lab] + [stats["splits"][s]["per_class"][lab] for s in splits] for lab in labels]
    rows.append(["total"] + [stats["splits"][s]["total"] for s in splits])
    out = [
        f"{stats['root']}  format={stats['format']}  samples={stats['n']:,}  image={'x'.join(map(str, stats['image_shape']))}"
        f"  labels={stats['label_space']['name']}",
        "",
        format_table(["class", *splits], rows),
        "",
    ]
    info = stats["source_images"]
    out.append(
        "source images: sizes " + _counts(info.get("sizes", {})) + "; modes " + _counts(info.get("modes", {}))
    )
    if stats["groups"] is not None:
        out.append(f"groups (subjects): {stats['groups']}")
    d = stats["duplicates"]
    out.append(
        f"exact duplicates: {d['groups']:,} groups, {d['extra_copies']:,} extra copies, "
        f"{d['cross_split_groups']:,} groups span two splits, {d['conflicting_label_groups']:,} with conflicting labels"
    )
    out.append(f"unreadable: {len(stats['unreadable'])}; ignored non-image files: {stats['ignored_files']}")
    for p, r in list(stats["unreadable_reasons"].items())[:20]:
        out.append(f"  {p}: {r}")
    if len(stats["unreadable"]) > 20:
        out.append(f"  … {len(stats['unreadable']) - 20} more (see --json)")
    if stats["notes"]:
        out.append("notes: " + ", ".join(f"{k}={v}" for k, v in stats["notes"].items()))
    return "\n".join(out)


def _counts(c: dict) -> str:
    items = sorted(c.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{k}: {v:,}" for k, v in items[:5])
    return shown + (f", … ({len(items) - 5} more)" if len(items) > 5 else "") if items else "n/a"
