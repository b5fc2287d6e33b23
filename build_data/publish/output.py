"""One build, one output: render into a staging folder beside the output, then swap it in.

The output folder is replaced in a single step (an atomic exchange of the two folders where the
kernel offers it, else two renames with recovery at the next start), so a reader, `mkdocs
serve` or a later build sees the old output whole or the new one whole, never a mix. A lock
serialises builds that share an output or cache folder. Staging folders start with a dot, so
MkDocs never publishes one even when the output lies inside `docs/`.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

import filelock

from build_data import atomic
from build_data.errors import BuildError

_RENAME_EXCHANGE = 2  # from <linux/fs.h>
_AT_FDCWD = -100


def _staging(out: Path, kind: str) -> Path:
    return out.parent / f".{out.name}.{kind}-{os.getpid()}"


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where that is not offered."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(staging: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staging, out)
        return
    if _exchange(staging, out):
        shutil.rmtree(staging)  # now holds the old output
        return
    # Two renames: for an instant there is no output folder; `recover` restores the old one
    # if the build dies in between.
    old = _staging(out, "old")
    os.rename(out, old)
    os.rename(staging, out)
    shutil.rmtree(old)


def recover(out: Path, log: Callable[[str], None]) -> None:
    """Undo what a killed build left beside `out`: restore an output moved aside, drop staging."""
    out = Path(out)
    if not out.parent.is_dir():
        return
    olds = sorted(out.parent.glob(f".{out.name}.old-*"))
    if not out.exists() and olds:
        os.rename(olds[-1], out)
        log(f"restored {out} from an interrupted swap")
    for leftover in out.parent.glob(f".{out.name}.*-*"):
        if leftover.is_dir() and leftover.name.rsplit(".", 1)[-1].split("-")[0] in ("staging", "old"):
            shutil.rmtree(leftover, ignore_errors=True)
            log(f"removed {leftover.name}, left by an interrupted build")


def remove_temp_files(folder: Path, log: Callable[[str], None]) -> None:
    """Delete `.NAME.xxxx.tmp` files that atomic writes of a killed build left behind."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    found = [p for p in folder.rglob(".*.tmp") if p.is_file()]
    for path in found:
        path.unlink(missing_ok=True)
    if found:
        log(f"removed {len(found)} temporary file(s) left by an interrupted build in {folder}")


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield a fresh folder to render into; on success it replaces `out` in one step.

    On any error (a full disk included) the staging folder is removed and `out` is untouched.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging(out, "staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _lock_path(folder: Path) -> Path:
    folder = Path(folder)
    return folder.parent / f".{folder.name}.lock"


@contextlib.contextmanager
def locked(folders: list[Path], timeout_s: float, log: Callable[[str], None]) -> Iterator[None]:
    """Hold one lock per folder (in a fixed order, so two builds cannot deadlock). A build that
    cannot get one within `timeout_s` fails with a line naming the pid that holds it."""
    with contextlib.ExitStack() as stack:
        for folder in sorted({Path(f).resolve() for f in folders}):
            path = _lock_path(folder)
            path.parent.mkdir(parents=True, exist_ok=True)
            pid_file = path.with_name(path.name + ".pid")
            lock = filelock.FileLock(path, timeout=timeout_s)
            try:
                stack.enter_context(lock)
            except filelock.Timeout:
                try:
                    holder = f"pid {pid_file.read_text().strip()}"
                except OSError:
                    holder = "another process"
                raise BuildError(f"{folder}: another build ({holder}) is using this folder; "
                                 f"gave up after waiting {timeout_s:g}s") from None
            atomic.write_text(pid_file, str(os.getpid()))
            stack.callback(pid_file.unlink, missing_ok=True)
        yield
