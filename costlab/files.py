"""Writing what the user asked for, and never anything they did not: the one output writer.

* ``-o -`` is stdout.
* A regular file (or a new one) is replaced atomically: the bytes go to a temporary file beside it,
  which is renamed over it, so a reader sees the old file or the new one, never half of one — even
  when costlab is interrupted. The file keeps its mode (a new one gets the umask's).
* Anything else that exists — a named pipe, a device such as ``/dev/null``, ``/dev/stdout`` — is
  written *through* (opened and written), never replaced by a regular file.
* A folder, a missing parent folder, a path under a file, a folder costlab may not write in, or a
  path that is one of the model's own source files is refused with one line, before any work
  (:func:`check_output`), so minutes of timing are never lost to a typo in ``-o``.

Paths are made absolute when they are checked, so a model file that changes the working folder
while it is imported cannot move where the output lands.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from costlab.errors import CostlabError

__all__ = ["STDOUT", "Output", "OutputError", "atomic_write", "check_output", "umask"]

STDOUT = "-"


class OutputError(CostlabError):
    """An output path costlab cannot or must not write."""


@dataclass(frozen=True)
class Output:
    """A checked output destination: stdout, or an absolute path (see :func:`check_output`)."""

    shown: str
    path: Path | None  # None: stdout
    make_parents: bool = False

    @property
    def is_stdout(self) -> bool:
        return self.path is None

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower() if self.path is not None else ""

    def write(self, data: str | bytes, protected: Iterable[Path] = ()) -> None:
        """Write ``data`` here (stdout, through a special file, or atomically over a regular file)."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if self.path is None:
            sys.stdout.flush()
            sys.stdout.buffer.write(raw)
            sys.stdout.flush()
            return
        _refuse_protected(self.path, self.shown, protected)
        if self.make_parents:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise OutputError(f"cannot write {self.shown}: {err.strerror or err}") from None
        atomic_write(self.path, raw, shown=self.shown)


def check_output(
    path: str | Path, protected: Iterable[Path] = (), *, what: str = "-o", make_parents: bool = False
) -> Output:
    """Check that ``path`` can be written, without writing it; ``"-"`` is stdout.

    Raises :class:`OutputError` (one line, exit 2) for a folder, a missing or unwritable parent,
    a path under a file, or one of ``protected`` (the model's source). With ``make_parents`` a
    missing parent folder is fine (it is made when writing) as long as the nearest folder that
    exists may be written in.
    """
    shown = str(path)
    if shown == STDOUT:
        return Output(shown, None)
    target = Path(os.path.abspath(Path(path).expanduser()))
    _refuse_protected(target, shown, protected)
    if target.is_dir():
        raise OutputError(f"{what} {shown} is a folder: give a file name, such as {Path(shown) / 'out.json'}")
    parent = target.parent
    existing = parent
    for ancestor in (parent, *parent.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise OutputError(f"cannot write {shown}: {ancestor} is a file, not a folder")
            existing = ancestor
            break
    if not parent.exists() and not make_parents:
        raise OutputError(f"cannot write {shown}: the folder {parent} does not exist")
    if target.exists() and not target.is_file():
        if not os.access(target, os.W_OK):
            raise OutputError(f"cannot write {shown}: permission denied")
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {shown}: no permission to write in {existing}")
    return Output(shown, target, make_parents)


def _refuse_protected(target: Path, shown: str, protected: Iterable[Path]) -> None:
    resolved = target.resolve()
    for source in protected:
        if Path(source).resolve() == resolved:
            raise OutputError(f"refusing to write the output over the model file {shown}: choose another path")


def atomic_write(path: Path, data: str | bytes, *, shown: str | None = None) -> None:
    """Replace a regular file ``path`` whole (temp file + rename); write *through* a special file."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    label = shown or str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise OutputError(f"cannot write {label}: {err.strerror or err}") from None
    try:
        if mode is not None and not stat.S_ISREG(mode):
            with open(path, "wb") as stream:  # a pipe, a device, /dev/stdout: never replace it
                stream.write(raw)
            return
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise OutputError(f"cannot write {label}: {err.strerror or err}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(raw)
        # mkstemp creates 0600; give the file the mode a plain open() would (or the one it had)
        os.chmod(temp, stat.S_IMODE(mode) if mode is not None else 0o666 & ~umask())
        os.replace(temp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(err, OSError):
            raise OutputError(f"cannot write {label}: {err.strerror or err}") from None
        raise


def umask() -> int:
    """The process's umask (read without changing it for longer than the call)."""
    current = os.umask(0)
    os.umask(current)
    return current
