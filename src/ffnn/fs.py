"""Files that are never half-written: atomic writes, stale temporary files, run-folder locks.

* :func:`atomic_write_bytes` writes ``.NAME.ffnn-tmp-PID-XXXXXX`` in the target's folder, fsyncs
  it, gives it the mode a plain ``open(path, "w")`` would (``0o666 & ~umask``, or the mode of the
  file it replaces) and renames it over the target. Before writing it removes the temporary files
  of writers that were killed (their pid is no longer alive on this machine).
* :func:`run_lock` holds a folder exclusively: ``FOLDER/.ffnn.lock`` is created with ``O_EXCL`` and
  holds the owner's pid and host; a lock whose pid is dead on this host is stale and taken over.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

from ffnn.errors import FFNNError

__all__ = ["atomic_write_bytes", "clean_stale_temps", "run_lock", "LOCK_NAME", "TMP_TAG"]

TMP_TAG = ".ffnn-tmp-"
LOCK_NAME = ".ffnn.lock"


def _umask() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # no /proc: read it by setting it (and put it back at once)
    os.umask(old)
    return old


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    except OSError:
        return True
    return True


def clean_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove ``.*.ffnn-tmp-PID-*`` files in ``folder`` whose writer (PID) is dead; return them."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for p in entries:
        name = p.name
        if not name.startswith(".") or TMP_TAG not in name:
            continue
        pid_text = name.rsplit(TMP_TAG, 1)[1].split("-", 1)[0]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, fsync, the
    umask's mode, then ``os.replace``. On any failure the temporary file is removed and ``path``
    is untouched."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FFNNError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist")
    if path.is_dir():
        raise FFNNError(f"cannot write {str(path)!r}: it is a folder; give a file name")
    clean_stale_temps(folder)
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    tmp = folder / f".{path.name}{TMP_TAG}{os.getpid()}-{secrets.token_hex(3)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_lock(lock: Path) -> tuple[int, str]:
    try:
        fields = lock.read_text().split()
        return int(fields[0]), fields[1] if len(fields) > 1 else ""
    except (OSError, ValueError, IndexError):
        return -1, ""


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold ``folder`` exclusively while the ``with`` block runs::

        with run_lock("runs/spirals"):       # FFNNError if another live process holds it
            ...write the run's files...

    The lock file ``FOLDER/.ffnn.lock`` holds ``PID HOST``. A lock left by a dead process on this
    host is stale: it is replaced. A lock of a live process (or of another host) is refused with
    its pid. The folder must exist. Yields the lock file's path; removes it on exit.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FFNNError(f"cannot lock {str(folder)!r}: it is not a folder")
    lock = folder / LOCK_NAME
    host = socket.gethostname()
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pid, owner_host = _read_lock(lock)
            if owner_host in ("", host) and not _pid_alive(pid) and pid != -1:
                with contextlib.suppress(OSError):
                    lock.unlink()  # stale: its writer is dead
                continue
            raise FFNNError(
                f"{str(folder)!r} is in use by another ffnn process (pid {pid} on "
                f"{owner_host or 'this host'}, lock file {str(lock)!r}); wait for it to finish or "
                "write to another folder (if no such process runs, delete the lock file)"
            ) from None
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()} {host}\n")
        break
    else:
        raise FFNNError(f"could not take the lock {str(lock)!r}; another process keeps taking it")
    try:
        yield lock
    finally:
        if _read_lock(lock)[0] == os.getpid():
            with contextlib.suppress(OSError):
                lock.unlink()
