"""The report folder: written whole or not at all, and never over anything costlab did not write.

Everything is built in a hidden folder beside it (``.NAME.*.tmp`` in the same parent, so the move
is a rename), then swapped into place. A folder is only ever replaced when it is empty or holds a
costlab report (its :data:`MARKER` file); files a person added to a report folder are moved into
the new one, never deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from costlab.errors import CostlabError
from costlab.files import umask

__all__ = ["MARKER", "check_report_dir", "publish"]

MARKER = ".costlab-report.json"
"""The file that marks a folder as a costlab report, with the list of the files the report wrote."""
_OWNED_WITHOUT_MANIFEST = ("index.html", "report.md")




def check_report_dir(path: Path) -> None:
    """Refuse a folder that a report must not replace: a file, the working folder (or one above it),
    or a folder that holds anything and is not a costlab report (no :data:`MARKER`)."""
    target = path.resolve()
    if target.exists() and not target.is_dir():
        raise CostlabError(f"-o {path} is a file: give a folder for the report, such as reports/mymodels")
    if target == Path.cwd().resolve() or target in Path.cwd().resolve().parents:
        raise CostlabError(f"-o {path} is the working folder (or holds it): give a folder below it, such as reports/x")
    for ancestor in target.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise CostlabError(f"cannot write the report in {path}: {ancestor} is a file")
            break
    if target.is_dir() and not (target / MARKER).is_file() and any(target.iterdir()):
        raise CostlabError(
            f"-o {path} holds files and is not a costlab report folder (no {MARKER}): "
            "choose a new or empty folder; costlab replaces only its own reports"
        )


def publish(path: Path, files: dict[str, bytes]) -> list[str]:
    """Write ``files`` (path inside the folder → bytes) as the folder ``path``, whole or not at all.

    The files and the marker are written into a hidden folder beside ``path``, which is then renamed
    into place; an earlier report there is renamed away first and deleted last, after any file a
    person added to it has been moved into the new report. Returns warnings for the user: a name
    clash keeps the old folder, and says so.
    """
    check_report_dir(path)
    target = path.resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as err:
        raise CostlabError(f"cannot write the report in {path}: {err.strerror or err}") from None
    try:
        for name, content in files.items():
            destination = staging / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(content)
        manifest = {"generator": "costlab report", "files": sorted(files)}
        (staging / MARKER).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _open_up(staging)
        old = _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _carry_over(old, target, path) if old is not None else []


def _open_up(folder: Path) -> None:
    """Give the staged folders the modes a plain mkdir would (mkdtemp makes them 0700)."""
    mode = 0o777 & ~umask()
    for directory in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        os.chmod(directory, mode)


def _swap(staging: Path, target: Path) -> Path | None:
    """Rename ``staging`` to ``target``; an existing ``target`` is renamed away first (returned)."""
    if not target.exists():
        os.rename(staging, target)
        return None
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    return old


def _carry_over(old: Path, target: Path, shown: Path) -> list[str]:
    """Move the files a person added to the old report into the new one, then delete the old one."""
    owned = _owned(old)
    clashes = []
    for item in sorted(old.rglob("*")):
        name = item.relative_to(old).as_posix()
        if item.is_dir() or name in owned:
            continue
        destination = target / name
        if destination.exists():
            clashes.append(name)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.rename(item, destination)
    if clashes:
        return [f"kept the previous report at {old}: its {', '.join(clashes)} would clash with the new report in {shown}"]
    shutil.rmtree(old, ignore_errors=True)
    return []


def _owned(folder: Path) -> set[str]:
    """The files an earlier report wrote (from its marker's list; the usual names if it has none)."""
    try:
        listed = json.loads((folder / MARKER).read_text(encoding="utf-8"))["files"]
        owned = {str(name) for name in listed}
    except (OSError, ValueError, KeyError, TypeError):
        owned = set(_OWNED_WITHOUT_MANIFEST) | {
            p.relative_to(folder).as_posix() for p in (folder / "figures").glob("*.png")
        }
    return owned | {MARKER}
