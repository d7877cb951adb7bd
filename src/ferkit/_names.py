"""File names as text that every output can hold.

A file name on Linux is bytes; one that is not valid UTF-8 (a Latin-1 name from an old disk or archive) reaches
Python as a `str` with surrogate escapes, which UTF-8 files, Parquet strings and terminals refuse. `text_name`
gives such a name a UTF-8 spelling that keeps every byte (undecodable bytes as `\\xNN`, backslashes doubled);
`name_bytes` gives the original bytes back. Names that are valid UTF-8 are left as they are.
"""

from __future__ import annotations

import codecs
import os


def is_text(name: str) -> bool:
    """Whether `name` can be written as UTF-8 as it is."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_name(name: str) -> str:
    """`name` as UTF-8-safe text, lossless (see the module docstring)."""
    if is_text(name):
        return name
    raw = os.fsencode(name).replace(b"\\", b"\\\\")
    return raw.decode("utf-8", "backslashreplace")


def name_bytes(text: str) -> bytes:
    """The original bytes of a name `text_name` escaped (a name it left alone: its UTF-8 bytes)."""
    if "\\" not in text:
        return os.fsencode(text)
    return codecs.escape_decode(text.encode("utf-8"))[0]
