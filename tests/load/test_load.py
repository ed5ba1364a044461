"""Model specs (zoo names, files, library models) and input shapes: costlab.load."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest
from torch import nn

import costlab
from costlab.errors import InputSpecError, ModelSpecError
from costlab.load import InputSpec, parse_inputs, resolve


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# A conv net whose parameter count identifies it: Conv2d(3, 8, 3) has 8·3·3·3 + 8 = 224 params.
NET = textwrap.dedent(
    """
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)

        def forward(self, x):
            return self.conv(x)
    """
)


# -- zoo ------------------------------------------------------------------------------------------


def test_zoo_name_resolves_with_its_default_input() -> None:
    source = resolve("mobilenet_v2")
    assert source.origin == "zoo"
    assert source.label == "mobilenet_v2"
    assert source.input_specs == [InputSpec((1, 3, 224, 224))]
    model = source.build(True)
    assert isinstance(model, nn.Module)
    assert all(p.is_meta for p in model.parameters())  # built on meta: no memory
    # torchvision's MobileNet V2 (same architecture) documents 3,504,872 parameters
    assert n_params(model) == 3_504_872


@pytest.mark.parametrize(("typo", "close"), [("mobilenetv2", "mobilenet_v2"), ("resnet-18", "resnet18")])
def test_unknown_zoo_name_suggests_close_names(typo: str, close: str) -> None:
    with pytest.raises(ModelSpecError) as info:
        resolve(typo)
    message = str(info.value)
    assert repr(typo) in message
    assert "did you mean" in message
    assert close in message


def test_empty_spec_is_an_error() -> None:
    with pytest.raises(ModelSpecError, match="empty model spec"):
        resolve("   ")


def test_path_like_spec_that_does_not_exist() -> None:
    with pytest.raises(ModelSpecError, match="no such file"):
        resolve("some/dir/model")


# -- files: what is found -------------------------------------------------------------------------


def test_file_module_level_instance_is_returned_as_is(tmp_path: Path) -> None:
    path = write(tmp_path, "inst.py", NET + "\nmodel = Net()\n")
    source = resolve(str(path))
    assert source.origin == "file"
    assert source.file == path
    first = source.build(True)
    assert first is source.build(False)  # the same existing object, meta or not
    assert type(first).__name__ == "Net"
    assert n_params(first) == 224
    assert source.input_specs is None  # no INPUT_SHAPE in the file


def test_file_instance_wins_over_class(tmp_path: Path) -> None:
    # the instance is a Conv2d(3, 4, 1): 4·3 + 4 = 16 params; the class Net has 224
    path = write(tmp_path, "both.py", NET + "\nstem = nn.Conv2d(3, 4, 1)\n")
    model = resolve(str(path)).build(True)
    assert isinstance(model, nn.Conv2d)
    assert n_params(model) == 16


@pytest.mark.parametrize("factory", ["build_model", "get_model"])
def test_file_no_argument_factory(tmp_path: Path, factory: str) -> None:
    # the factory builds a Conv2d(3, 5, 1): 5·3 + 5 = 20 params; the class Net (224) is not used
    path = write(tmp_path, f"fac_{factory}.py", NET + f"\ndef {factory}():\n    return nn.Conv2d(3, 5, 1)\n")
    model = resolve(str(path)).build(True)
    assert isinstance(model, nn.Conv2d)
    assert n_params(model) == 20


def test_file_single_class_built_without_arguments(tmp_path: Path) -> None:
    path = write(tmp_path, "cls.py", NET)
    source = resolve(str(path))
    model = source.build(True)
    assert type(model).__name__ == "Net"
    assert n_params(model) == 224
    assert all(p.is_meta for p in model.parameters())


def test_file_block_class_used_by_the_model_is_not_picked(tmp_path: Path) -> None:
    # both classes can be built without arguments; TinyNet uses ConvBlock, so TinyNet is the model.
    # params: stem 8·3·9 + 8 = 224; each ConvBlock 8·8·9 + 8 = 584; total 224 + 2·584 = 1,392
    path = write(
        tmp_path,
        "blocks.py",
        """
        from torch import nn

        class ConvBlock(nn.Module):
            def __init__(self, c=8):
                super().__init__()
                self.conv = nn.Conv2d(c, c, 3, padding=1)

            def forward(self, x):
                return self.conv(x)

        class TinyNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.stem = nn.Conv2d(3, 8, 3, padding=1)
                self.blocks = nn.Sequential(ConvBlock(), ConvBlock())

            def forward(self, x):
                return self.blocks(self.stem(x))
        """,
    )
    model = resolve(str(path)).build(True)
    assert type(model).__name__ == "TinyNet"
    assert n_params(model) == 1_392


def test_file_block_whose_name_extends_the_model_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prefix.py",
        """
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.block = NetBlock()

            def forward(self, x):
                return self.block(x)

        class NetBlock(nn.Module):
            def __init__(self, c=3):
                super().__init__()
                self.conv = nn.Conv2d(c, c, 3, padding=1)

            def forward(self, x):
                return self.conv(x)
        """,
    )
    assert type(resolve(str(path)).build(True)).__name__ == "Net"


def test_file_colon_name_picks_class_factory_or_instance(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "named.py",
        NET
        + textwrap.dedent(
            """
            class Other(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 2)

            def build_model():
                return nn.Conv2d(3, 5, 1)

            small = nn.Linear(3, 1)
            """
        ),
    )
    # Net: 224; Other: Linear(4, 2) = 4·2 + 2 = 10; build_model: Conv2d(3, 5, 1) = 20; small: 3 + 1 = 4
    expected = {"Net": 224, "Other": 10, "build_model": 20, "small": 4}
    for name, params in expected.items():
        source = resolve(f"{path}:{name}")
        assert source.label == f"named.py:{name}"
        assert n_params(source.build(True)) == params, name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("(1, 3, 32, 32)", [InputSpec((1, 3, 32, 32))]),
        ("'1x3x16x16'", [InputSpec((1, 3, 16, 16))]),
        ("[(1, 3, 8, 8), (1, 10)]", [InputSpec((1, 3, 8, 8)), InputSpec((1, 10))]),
    ],
)
def test_file_input_shape_gives_the_default_input(tmp_path: Path, value: str, expected: list[InputSpec]) -> None:
    path = write(tmp_path, "shaped.py", NET + f"\nINPUT_SHAPE = {value}\n")
    assert resolve(str(path)).input_specs == expected


def test_file_input_shape_is_used_by_profile(tmp_path: Path) -> None:
    # Conv2d(3, 8, 3, padding=1) at 1x3x32x32: MACs = 8·32·32·(3·3·3) = 221,184
    path = write(tmp_path, "shaped2.py", NET + "\nINPUT_SHAPE = (1, 3, 32, 32)\n")
    report = costlab.profile(str(path))
    assert report.input_shapes == [(1, 3, 32, 32)]
    assert report.totals.macs == 221_184
    assert report.params == 224


# -- files: errors --------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.py"
    with pytest.raises(ModelSpecError, match="no such file") as info:
        resolve(str(missing))
    assert "nope.py" in str(info.value)


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    # line 1 is the import, line 2 blank, line 3 the class header missing its colon
    path = write(tmp_path, "syn.py", "from torch import nn\n\nclass Net(nn.Module)\n    pass\n")
    with pytest.raises(ModelSpecError) as info:
        resolve(str(path))
    message = str(info.value)
    assert f"{path}:3" in message
    assert "syntax error" in message


def test_file_without_model(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.py", "WIDTH = 8\n\ndef helper():\n    return 2\n")
    with pytest.raises(ModelSpecError, match="has no model"):
        resolve(str(path))


def test_factory_needing_arguments_names_them(tmp_path: Path) -> None:
    path = write(tmp_path, "fac_args.py", "from torch import nn\n\ndef build_model(width, depth=2):\n    return nn.Conv2d(3, width, 1)\n")
    with pytest.raises(ModelSpecError) as info:
        resolve(str(path))
    message = str(info.value)
    assert "needs arguments (width)" in message
    assert "depth" not in message  # it has a default


def test_class_needing_arguments_names_them(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "cls_args.py",
        """
        from torch import nn

        class Net(nn.Module):
            def __init__(self, width, depth):
                super().__init__()
        """,
    )
    with pytest.raises(ModelSpecError) as info:
        resolve(str(path))
    assert "Net(width, depth)" in str(info.value)
    with pytest.raises(ModelSpecError, match=r"needs arguments \(width, depth\)"):
        resolve(f"{path}:Net")


def test_colon_missing_name_lists_what_is_there(tmp_path: Path) -> None:
    path = write(tmp_path, "there.py", NET + "\ndef build_model():\n    return Net()\n\nlayer = nn.ReLU()\n")
    with pytest.raises(ModelSpecError) as info:
        resolve(f"{path}:Missing")
    message = str(info.value)
    assert "'Missing'" in message
    for name in ("Net", "build_model", "layer"):
        assert name in message


def test_colon_name_that_is_not_a_model(tmp_path: Path) -> None:
    path = write(tmp_path, "const.py", NET + "\nWIDTH = 8\n")
    with pytest.raises(ModelSpecError, match="not a model"):
        resolve(f"{path}:WIDTH")


def test_colon_suffix_that_is_not_a_python_name(tmp_path: Path) -> None:
    path = write(tmp_path, "odd.py", NET)
    with pytest.raises(ModelSpecError, match="not a Python name"):
        resolve(f"{path}:1x")


def test_file_that_raises_on_import(tmp_path: Path) -> None:
    path = write(tmp_path, "boom.py", "raise RuntimeError('boom at import')\n")
    with pytest.raises(ModelSpecError) as info:
        resolve(str(path))
    message = str(info.value)
    assert "could not import" in message
    assert "RuntimeError: boom at import" in message


def test_several_instances_ask_for_a_name(tmp_path: Path) -> None:
    path = write(tmp_path, "two.py", NET + "\na = Net()\nb = Net()\n")
    with pytest.raises(ModelSpecError) as info:
        resolve(str(path))
    assert "a, b" in str(info.value)
    assert ":NAME" in str(info.value)


def test_bad_input_shape_in_file(tmp_path: Path) -> None:
    path = write(tmp_path, "badshape.py", NET + "\nINPUT_SHAPE = '1x3xabc'\n")
    with pytest.raises(ModelSpecError, match="INPUT_SHAPE"):
        resolve(str(path))


def test_factory_returning_a_non_module(tmp_path: Path) -> None:
    path = write(tmp_path, "notmod.py", "def build_model():\n    return 42\n")
    source = resolve(str(path))
    with pytest.raises(ModelSpecError, match="not an nn.Module"):
        source.build(True)


# -- library models -------------------------------------------------------------------------------


def _imports(name: str) -> bool:
    if importlib.util.find_spec(name) is None:
        return False
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001
        return False
    return True


def test_torchvision_model_when_it_imports() -> None:
    pytest.importorskip("torchvision")
    source = resolve("torchvision:resnet18")
    assert source.origin == "torchvision"
    assert source.input_specs == [InputSpec((1, 3, 224, 224))]
    # torchvision documents resnet18 at 11,689,512 parameters
    assert n_params(source.build(True)) == 11_689_512


@pytest.mark.skipif(_imports("torchvision"), reason="torchvision imports here: the error path cannot happen")
def test_torchvision_that_does_not_import() -> None:
    with pytest.raises(ModelSpecError) as info:
        resolve("torchvision:resnet18")
    message = str(info.value)
    assert "torchvision does not import" in message
    assert "torchvision:resnet18" in message


@pytest.mark.skipif(_imports("timm"), reason="timm imports here")
def test_timm_that_does_not_import() -> None:
    with pytest.raises(ModelSpecError, match="timm does not import"):
        resolve("timm:ghostnet_100")


def test_library_prefix_without_a_name() -> None:
    with pytest.raises(ModelSpecError, match="needs a model name"):
        resolve("torchvision:")


# -- input shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("1x3x224x224", [InputSpec((1, 3, 224, 224))]),
        ("1x3x8x8,1x10", [InputSpec((1, 3, 8, 8)), InputSpec((1, 10))]),
        ("1x128:int64", [InputSpec((1, 128), "int64")]),
        (" 1 x 3 x 8 x 8 , 2x5:long", [InputSpec((1, 3, 8, 8)), InputSpec((2, 5), "int64")]),
        ("1x16:fp16", [InputSpec((1, 16), "float16")]),
        ((1, 3, 224, 224), [InputSpec((1, 3, 224, 224))]),
        ([1, 10], [InputSpec((1, 10))]),
        ([(1, 3, 8, 8), (1, 10)], [InputSpec((1, 3, 8, 8)), InputSpec((1, 10))]),
    ],
)
def test_parse_inputs(given: object, expected: list[InputSpec]) -> None:
    assert parse_inputs(given) == expected


def test_input_spec_str_round_trips() -> None:
    specs = parse_inputs("1x3x8x8,1x128:int64")
    assert [str(s) for s in specs] == ["1x3x8x8", "1x128:int64"]
    assert parse_inputs(",".join(map(str, specs))) == specs


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("1x3xabc", "1x3x224x224"),
        ("", "1x3x224x224"),
        ("1x3,", "1x3x224x224"),  # an empty second input
        ("1x-3", "1x3x224x224"),
        ("0x3", "positive integer"),
        ("1x3:float8", "float32"),  # the message lists the dtypes to use
        ((1, 0, 4), "positive integer"),
    ],
)
def test_parse_inputs_malformed(given: object, hint: str) -> None:
    with pytest.raises(InputSpecError) as info:
        parse_inputs(given)  # not a shape, on purpose
    message = str(info.value)
    assert hint in message
    if isinstance(given, str) and given:
        assert given.split(",")[0] in message  # names what was wrong


def test_parse_inputs_empty_tuple_is_malformed() -> None:
    with pytest.raises(InputSpecError):
        parse_inputs(())


def test_parse_inputs_superscript_digit_is_malformed() -> None:
    with pytest.raises(InputSpecError):
        parse_inputs("1x3x²")


# -- data-dependent models (real tensors) ---------------------------------------------------------

DATA_DEPENDENT = {
    "item": "if y.sum().item() > 1e9:\n                    y = y * 2",
    "branch": "if y.mean() > 100:\n                    y = y * 2",
}


@pytest.mark.parametrize("kind", sorted(DATA_DEPENDENT))
def test_data_dependent_model_runs_on_real_tensors(tmp_path: Path, kind: str) -> None:
    path = write(
        tmp_path,
        f"dd_{kind}.py",
        f"""
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3, padding=1)

            def forward(self, x):
                y = self.conv(x)
                {DATA_DEPENDENT[kind]}
                return y
        """,
    )
    report = costlab.profile(str(path), "1x3x16x16")
    assert report.captured_on == "cpu"
    assert any("real tensors" in note for note in report.notes)
    # Conv2d(3, 4, 3, padding=1) at 16x16: MACs = 4·16·16·(3·3·3) = 27,648; params 4·27 + 4 = 112
    assert report.totals.macs == 27_648
    assert report.params == 112


def test_plain_model_is_captured_on_meta(tmp_path: Path) -> None:
    path = write(tmp_path, "plain.py", NET)
    report = costlab.profile(str(path), (1, 3, 16, 16))
    assert report.captured_on == "meta"
    assert report.notes == []
    # MACs = 8·16·16·27 = 55,296
    assert report.totals.macs == 55_296


def test_a_model_file_runs_its_top_level_code_once_per_content(tmp_path: Path) -> None:
    # profile --device resolves the spec twice (count, then time); the file's own code must run once
    log = tmp_path / "imports.log"
    source = f"""
        from torch import nn
        with open({str(log)!r}, "a") as f:
            f.write("imported\\n")
        model = nn.Linear(4, 2)
        """
    path = write(tmp_path, "counted.py", source)
    resolve(str(path))
    resolve(str(path))
    assert log.read_text().splitlines() == ["imported"]
    path.write_text(textwrap.dedent(source) + "\n# edited\n")  # new content: imported again
    resolve(str(path))
    assert log.read_text().splitlines() == ["imported", "imported"]
