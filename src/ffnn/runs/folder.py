"""One writer per run folder: a lock file made with O_EXCL, stale locks found by their pid, and
no empty folder left behind by a run that failed.

The lock ``<run folder>/.ffnn.lock`` holds "<pid> <host>". A second run into the same
folder is refused while that process lives; a lock whose process is gone (killed, or the machine
restarted) is moved aside atomically and removed, so exactly one waiting run takes it over.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ffnn.errors import FFNNError

# the same name and "<pid> <host>" format as ffnn.fs.run_lock (branch reliability)
LOCK_FILE = ".ffnn.lock"
_YOUNG_S = 10.0  # an unreadable lock younger than this is being written, not stale


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill would end the process there; cannot tell: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def _busy(lock: Path, who: str) -> FFNNError:
    return FFNNError(
        f"{lock.parent} is in use by {who} (lock {lock}); wait for it to finish or choose "
        "another folder with -o (remove the lock file if no ffnn train is writing there)"
    )


def _clear_if_stale(lock: Path) -> None:
    """Remove ``lock`` if its process is gone; raise FFNNError if a live run holds it."""
    try:
        text = lock.read_text(errors="replace")
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return
    parts = text.split()
    if len(parts) >= 2 and parts[0].isdigit():
        pid, host = int(parts[0]), parts[1]
        if host != socket.gethostname():
            raise _busy(lock, f"a run on the machine {host!r} (pid {pid})")
        if _alive(pid):
            raise _busy(lock, f"another ffnn train (pid {pid})")
    elif age < _YOUNG_S:
        raise _busy(lock, "another ffnn train that is starting")
    aside = lock.with_name(f"{lock.name}.stale-{os.getpid()}")
    try:
        os.replace(lock, aside)
    except FileNotFoundError:  # another run cleared it first
        return
    if aside.read_text(errors="replace") != text:  # a live run's new lock: put it back
        with contextlib.suppress(OSError):
            os.link(aside, lock)
        aside.unlink(missing_ok=True)
        raise _busy(lock, "another ffnn train")
    aside.unlink(missing_ok=True)


def acquire(lock: Path) -> None:
    """Create ``lock`` (O_CREAT | O_EXCL) holding this process's pid and host."""
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            _clear_if_stale(lock)
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()} {socket.gethostname()}\n")
        return
    raise _busy(lock, "another ffnn train")


def release(lock: Path) -> None:
    """Remove ``lock`` if this process holds it."""
    with contextlib.suppress(OSError):
        if lock.read_text().split()[:1] == [str(os.getpid())]:
            lock.unlink()


def _missing(folder: Path) -> list[Path]:
    """The folders of ``folder``'s path that do not exist yet, deepest first."""
    out = []
    p = folder
    while not p.exists() and p != p.parent:
        out.append(p)
        p = p.parent
    return out


@contextlib.contextmanager
def locked_folder(out: Path, check=None) -> Iterator[Path]:
    """Make ``out`` (and its missing parents) and hold its lock while the body writes there.

    ``check()`` runs once the lock is held (e.g. "no model there unless --force", which two runs
    started together would otherwise both pass). On an error, the folders this made are removed
    again if they are still empty."""
    made = _missing(out)
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_FILE
    try:
        acquire(lock)
        try:
            if check is not None:
                check()
            yield out
        finally:
            release(lock)
    except BaseException:
        for d in made:
            with contextlib.suppress(OSError):
                d.rmdir()  # only if empty
        raise
