"""A file's stamp: its identity and the marks every write leaves on it, as git keeps for its
work tree. An unchanged stamp says the file is the one seen before, unwritten since (within
the file system's clock tick: see state/planindex.py)."""

from __future__ import annotations

import os

Stamp = tuple[int, int, int, int, int]


def stamp(found: os.stat_result) -> Stamp:
    """Device, inode, size, modification and change times."""
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
