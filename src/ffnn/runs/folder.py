"""One writer per run folder, and no empty folder left behind by a run that failed.

The lock is :func:`ffnn.fs.run_lock`: ``<run folder>/.ffnn.lock``, created with O_EXCL and holding
"<pid> <host>"; a second run into the same folder is refused while that process lives, and a lock
whose process is gone (killed, or the machine restarted) is taken over.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from ffnn.fs import LOCK_NAME, run_lock

LOCK_FILE = LOCK_NAME


def _missing(folder: Path) -> list[Path]:
    """The folders of ``folder``'s path that do not exist yet, deepest first."""
    out = []
    p = folder
    while not p.exists() and p != p.parent:
        out.append(p)
        p = p.parent
    return out


@contextlib.contextmanager
def locked_folder(out: Path, check: Callable[[], None] | None = None) -> Iterator[Path]:
    """Make ``out`` (and its missing parents) and hold its lock while the body writes there.

    ``check()`` runs once the lock is held (e.g. "no model there unless --force", which two runs
    started together would otherwise both pass). On an error, the folders this made are removed
    again if they are still empty."""
    made = _missing(out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        with run_lock(out):
            if check is not None:
                check()
            yield out
    except BaseException:
        for d in made:
            with contextlib.suppress(OSError):
                d.rmdir()  # only if empty
        raise
