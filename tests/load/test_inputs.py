"""Inputs beyond one tensor: ExampleInputs, a file's INPUT_SHAPE / example_inputs(), costlab.profile(inputs=...)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import costlab
from costlab.cli import app
from costlab.errors import InputSpecError, ModelSpecError
from costlab.load import ExampleInputs, InputSpec, as_example_inputs, resolve


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


class Tagger(nn.Module):
    """Keyword inputs, as a Hugging Face encoder takes them: an embedding and a linear head.

    At input_ids / attention_mask of 2x64 (B·L = 128 tokens), vocab 100, width 16, 5 tags:
    params 100·16 + 16·5 + 5 = 1,685; MACs of the head 128·16·5 = 10,240 (the lookup is a gather).
    """

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.head = nn.Linear(16, 5)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        hidden = self.embed(input_ids)
        if attention_mask is not None:
            hidden = hidden * attention_mask.unsqueeze(-1)
        return self.head(hidden)


TAGGER_FILE = '''
import torch
from torch import nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.head = nn.Linear(16, 5)

    def forward(self, input_ids, attention_mask=None):
        hidden = self.embed(input_ids)
        if attention_mask is not None:
            hidden = hidden * attention_mask.unsqueeze(-1)
        return self.head(hidden)


def example_inputs():
    print("making inputs")  # must not reach stdout
    ids = torch.zeros(2, 64, dtype=torch.int64)
    return {"input_ids": ids, "attention_mask": torch.ones(2, 64, dtype=torch.int64)}
'''


class Pair(nn.Module):
    """Two positional inputs: out = a @ b, a 2x8x4 by a 2x4x3 batch: MACs 2·8·4·3 = 192."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a @ b


class Images(nn.Module):
    """A list of 3-d images, as a detector takes them: one Conv2d(3, 4, 1) per image.

    Two images of 3x8x8 and 3x4x4: MACs 4·3·(64 + 16) = 960; params 4·3 + 4 = 16.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, images: list[torch.Tensor]) -> list[torch.Tensor]:
        return [self.conv(image[None]) for image in images]


# -- the representation ----------------------------------------------------------------------------


def test_the_three_forms_and_a_list() -> None:
    x = torch.zeros(1, 3)
    assert as_example_inputs(x).args == (x,)
    assert as_example_inputs((x, x)).args == (x, x)
    assert as_example_inputs({"input_ids": x}).kwargs == {"input_ids": x}
    assert as_example_inputs([x, x]).args == ([x, x],)  # a list is one argument (a detector's images)
    with pytest.raises(InputSpecError, match="tensor, a tuple of positional arguments or a dict"):
        as_example_inputs(3)


def test_text_shapes_and_batch() -> None:
    example = ExampleInputs((), {"input_ids": InputSpec((1, 128), "int64"), "mask": torch.zeros(1, 128, dtype=torch.bool)})
    assert str(example) == "input_ids=1x128:int64, mask=1x128:bool"
    assert example.shapes == ((1, 128), (1, 128))
    batched = example.with_batch(4)
    assert batched.shapes == ((4, 128), (4, 128))
    images = ExampleInputs(([InputSpec((3, 8, 8))],))
    assert str(images.with_batch(3)) == "[3x8x8, 3x8x8, 3x8x8]"  # a list argument: batch = its length


def test_make_copies_user_tensors_and_leaves_the_rng_alone() -> None:
    x = torch.arange(6.0).reshape(2, 3)
    example = ExampleInputs((x, InputSpec((2, 2))), {"flag": True})
    state = torch.get_rng_state()
    (real, spec), kwargs = example.make()
    assert torch.equal(real, x) and real is not x  # a copy: a forward writing it cannot touch the user's
    assert kwargs == {"flag": True}
    again = example.make()[0][1]
    assert torch.equal(spec, again)  # seeded: the same random values every time
    assert torch.equal(torch.get_rng_state(), state)
    (meta, _), _ = example.make(meta=True, float_dtype=torch.float16)
    assert meta.is_meta and meta.shape == (2, 3) and meta.dtype == torch.float16


# -- the Python API -------------------------------------------------------------------------------


def test_profile_takes_keyword_inputs() -> None:
    ids = torch.zeros(2, 64, dtype=torch.int64)
    report = costlab.profile(Tagger(), inputs={"input_ids": ids, "attention_mask": torch.ones_like(ids)})
    assert report.params == 100 * 16 + 16 * 5 + 5  # 1,685
    assert report.totals.macs == 2 * 64 * 16 * 5  # 10,240: the head; the lookup is a gather
    assert report.input_shapes == [(2, 64), (2, 64)]
    assert report.captured_on == "meta"


def test_profile_takes_a_tuple_of_positional_inputs_and_a_list() -> None:
    report = costlab.profile(Pair(), inputs=(torch.zeros(2, 8, 4), torch.zeros(2, 4, 3)))
    assert report.totals.macs == 2 * 8 * 4 * 3  # 192
    images = costlab.profile(Images(), inputs=[torch.zeros(3, 8, 8), torch.zeros(3, 4, 4)])
    assert images.totals.macs == 4 * 3 * (64 + 16)  # 960
    assert images.params == 16


def test_input_shape_and_inputs_together_are_refused() -> None:
    with pytest.raises(InputSpecError, match="not both"):
        costlab.profile(Pair(), "1x2", inputs=(torch.zeros(1),))


def test_latency_takes_keyword_inputs() -> None:
    ids = torch.zeros(1, 8, dtype=torch.int64)
    measured = costlab.measure_latency(Tagger(), inputs={"input_ids": ids}, min_time_s=0.01)
    assert measured.spec.input_shapes == ((1, 8),)
    assert measured.median_ms > 0


# -- model files -----------------------------------------------------------------------------------


def test_file_input_shape_with_a_dtype(tmp_path: Path) -> None:
    path = write(tmp_path, "ids.py", "from torch import nn\nINPUT_SHAPE = '2x64:int64'\nmodel = nn.Embedding(100, 16)\n")
    assert resolve(str(path)).input_specs == [InputSpec((2, 64), "int64")]
    report = costlab.profile(str(path))
    assert report.input_shapes == [(2, 64)] and report.params == 1600  # 100·16


def test_file_example_inputs_gives_keyword_inputs(tmp_path: Path) -> None:
    path = write(tmp_path, "tagger.py", TAGGER_FILE)
    report = costlab.profile(str(path))
    assert report.totals.macs == 2 * 64 * 16 * 5  # 10,240 as with the instance above
    assert report.input_shapes == [(2, 64), (2, 64)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("def example_inputs():\n    return torch.zeros(1, 3, 8, 8)\n", [(1, 3, 8, 8)]),
        ("def example_inputs():\n    return (torch.zeros(1, 3, 8, 8),)\n", [(1, 3, 8, 8)]),
        ("def example_inputs():\n    return {'input': torch.zeros(1, 3, 4, 4)}\n", [(1, 3, 4, 4)]),
    ],
    ids=["tensor", "tuple", "dict"],
)
def test_example_inputs_forms(tmp_path: Path, body: str, expected: list[tuple[int, ...]]) -> None:
    path = write(tmp_path, "net.py", "import torch\nfrom torch import nn\nmodel = nn.Conv2d(3, 2, 1)\n" + body)
    report = costlab.profile(str(path))
    assert report.input_shapes == expected
    h, w = expected[0][2:]
    assert report.totals.macs == 2 * 3 * h * w  # a 1x1 conv, 3 → 2 channels, per position


def test_example_inputs_errors_are_one_line(tmp_path: Path) -> None:
    both = write(tmp_path, "both.py", "from torch import nn\nINPUT_SHAPE = (1, 3)\nmodel = nn.ReLU()\ndef example_inputs():\n    return 1\n")
    with pytest.raises(ModelSpecError, match="both INPUT_SHAPE and example_inputs"):
        resolve(str(both))
    bad = write(tmp_path, "bad.py", "from torch import nn\nmodel = nn.ReLU()\ndef example_inputs():\n    return 3\n")
    with pytest.raises(ModelSpecError, match=r"example_inputs\(\) returned int"):
        costlab.profile(str(bad))
    raising = write(tmp_path, "raising.py", "from torch import nn\nmodel = nn.ReLU()\ndef example_inputs():\n    raise ValueError('no data')\n")
    with pytest.raises(ModelSpecError, match=r"example_inputs\(\) failed: ValueError: no data"):
        costlab.profile(str(raising))


COMMANDS = [
    ["profile", "-f", "json"],
    ["lint", "-f", "json"],
    ["roofline", "--spec", "h100-sxm", "-f", "json"],
    ["latency", "--min-time", "0.01", "-f", "json"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_command_takes_a_file_with_example_inputs(tmp_path: Path, command: list[str]) -> None:
    import json

    path = write(tmp_path, "tagger.py", TAGGER_FILE)
    result = CliRunner().invoke(app, [command[0], str(path), *command[1:]])
    assert result.exit_code in (0, 1), result.output  # lint exits 1 on findings
    json.loads(result.stdout)  # stdout is JSON alone: the file's print went to stderr
    assert "making inputs" in result.stderr


def test_cli_bad_example_inputs_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.py", "from torch import nn\nmodel = nn.ReLU()\ndef example_inputs():\n    return 3\n")
    result = CliRunner().invoke(app, ["profile", str(path)])
    assert result.exit_code == 2
    assert "example_inputs() returned int" in result.stderr and "Traceback" not in result.output
