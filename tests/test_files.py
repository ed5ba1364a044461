"""The one output writer: stdout, atomic replacement of regular files, writing through anything else,
and one clear line for every path it must not or cannot write."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from costlab.files import OutputError, atomic_write, check_output


def test_dash_is_stdout(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    out = check_output("-")
    assert out.is_stdout and out.suffix == ""
    out.write("hello\n")
    assert capfdbinary.readouterr().out == b"hello\n"


def test_a_regular_file_is_replaced_whole_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o640)
    check_output(target).write('{"new": 1}')
    assert target.read_text() == '{"new": 1}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left behind


def test_a_new_file_gets_the_umask_mode(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        check_output(tmp_path / "new.csv").write("a,b\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o640  # 0o666 & ~0o027


def test_a_named_pipe_is_written_through_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    check_output(fifo).write("through\n")
    reader.join(timeout=10)
    assert received == [b"through\n"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_dev_null_stays_a_device(tmp_path: Path) -> None:
    check_output("/dev/null").write("nothing")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("{tmp}", "is a folder: give a file name"),
        ("{tmp}/missing/out.json", "the folder {tmp}/missing does not exist"),
        ("{tmp}/file.txt/out.json", "{tmp}/file.txt is a file, not a folder"),
    ],
)
def test_paths_that_cannot_be_written_are_one_line(tmp_path: Path, path: str, message: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(OutputError) as caught:
        check_output(path.replace("{tmp}", str(tmp_path)))
    assert message.replace("{tmp}", str(tmp_path)) in str(caught.value) and "\n" not in str(caught.value)


def test_the_model_file_is_never_overwritten(tmp_path: Path) -> None:
    model = tmp_path / "net.py"
    model.write_text("# model")
    with pytest.raises(OutputError, match="over the model file"):
        check_output(model, [model])
    assert model.read_text() == "# model"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_without_write_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="no permission to write in"):
            check_output(locked / "out.json")
    finally:
        locked.chmod(0o700)


def test_paths_are_absolute_once_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = check_output("out.md")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # a model file that changes the working folder at import
    out.write("# here")
    assert (tmp_path / "out.md").read_text() == "# here" and not (tmp_path / "elsewhere" / "out.md").exists()


def test_atomic_write_turns_os_errors_into_one_line(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write(tmp_path / "missing" / "x.json", "{}")
