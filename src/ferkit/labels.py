"""Label spaces: the only home of label order, plus name aliases and remapping between spaces.

FER2013 index order (the challenge CSV): angry, disgust, fear, happy, sad, surprise, neutral.
FER+ column order: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt.
CK+ has no neutral but a contempt class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferkit.errors import DataError

# Every spelling we meet in datasets, mapped to ferkit's canonical name.
ALIASES: dict[str, str] = {
    "anger": "angry",
    "angry": "angry",
    "mad": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "neutral": "neutral",
    "calm": "neutral",
    "contempt": "contempt",
}


def canonical(name: str) -> str:
    """Canonical ferkit name of a class name ('Happiness' -> 'happy'); unknown names are lower-cased."""
    key = name.strip().lower()
    return ALIASES.get(key, key)


@dataclass(frozen=True)
class LabelSpace:
    """An ordered set of class names; index i of a model output or label array means names[i]."""

    name: str
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Index of a class name (aliases accepted). Raises DataError naming the space when unknown."""
        key = canonical(name)
        if key not in self.names:
            raise DataError(f"label {name!r} is not in label space {self.name} ({', '.join(self.names)})")
        return self.names.index(key)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and canonical(name) in self.names

    def to_dict(self) -> dict:
        return {"name": self.name, "names": list(self.names)}

    @classmethod
    def from_dict(cls, d: dict) -> LabelSpace:
        return cls(name=str(d["name"]), names=tuple(d["names"]))

    @classmethod
    def from_names(cls, names: list[str] | tuple[str, ...], name: str | None = None) -> LabelSpace:
        """A label space from class names: a known space when the names match one, else a custom one."""
        canon = tuple(canonical(n) for n in names)
        for space in KNOWN_SPACES:
            if canon == space.names:
                return space
        return cls(name=name or "custom", names=canon)


FER7 = LabelSpace("FER7", ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"))
FERPLUS8 = LabelSpace(
    "FERPLUS8", ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt")
)
CKPLUS7 = LabelSpace("CKPLUS7", ("angry", "contempt", "disgust", "fear", "happy", "sad", "surprise"))
# Smallest first: space_for_names picks the first space that holds every name.
KNOWN_SPACES: tuple[LabelSpace, ...] = (FER7, CKPLUS7, FERPLUS8)


def get_space(name: str) -> LabelSpace:
    """A known label space by name (case-insensitive)."""
    for space in KNOWN_SPACES:
        if space.name.lower() == name.lower():
            return space
    raise DataError(f"unknown label space {name!r}; known: {', '.join(s.name for s in KNOWN_SPACES)}")


def space_for_names(names: set[str] | list[str]) -> LabelSpace:
    """Smallest known space that holds every (canonicalised) name; a sorted custom space otherwise."""
    canon = {canonical(n) for n in names}
    for space in KNOWN_SPACES:
        if canon <= set(space.names):
            return space
    return LabelSpace("custom", tuple(sorted(canon)))


def remap_table(src: LabelSpace, dst: LabelSpace) -> np.ndarray:
    """int64 array t with t[i] = index in dst of src.names[i], or -1 when dst lacks that class."""
    return np.array([dst.names.index(n) if n in dst.names else -1 for n in src.names], dtype=np.int64)


def remap(labels: np.ndarray, src: LabelSpace, dst: LabelSpace) -> np.ndarray:
    """Map label ids from one space to another; classes missing in dst become -1."""
    labels = np.asarray(labels, dtype=np.int64)
    return remap_table(src, dst)[labels]
