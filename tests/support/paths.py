"""A PATH without some programs, to run our CLIs for real as on a machine that lacks them."""
from __future__ import annotations

import os
from pathlib import Path


def path_without(directory: Path, *left_out: str) -> str:
    """A directory of symbolic links to every program on this PATH but ``left_out``: the PATH to give."""
    directory.mkdir(parents=True, exist_ok=True)
    for entry in reversed(os.environ.get("PATH", "").split(os.pathsep)):
        if not os.path.isdir(entry):
            continue
        for name in os.listdir(entry):
            target = os.path.join(entry, name)
            if name in left_out or os.path.isdir(target) or not os.access(target, os.X_OK):
                continue
            link = directory / name
            link.unlink(missing_ok=True)  # the earlier PATH entry wins, as in a shell
            link.symlink_to(target)
    return str(directory)
