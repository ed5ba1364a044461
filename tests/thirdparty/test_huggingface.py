"""Hugging Face encoders and decoders, from a model file with ``example_inputs()`` (keyword inputs),
built from small configs (no weights, nothing downloaded), against ``FlopCounterMode`` on the same
forward with eager attention (plain matmuls, which it counts; MACs = its FLOPs / 2)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import costlab
from costlab.cli import app
from tests.thirdparty.setup import HAS_TORCHVISION  # noqa: F401 - transformers imports torchvision when present

transformers = pytest.importorskip("transformers")

MODELS = {
    "bert": "BertModel(BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, "
    "intermediate_size=128, vocab_size=1000, attn_implementation='eager'))",
    "gpt2": "GPT2LMHeadModel(GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=1000, bos_token_id=0, "
    "eos_token_id=0, attn_implementation='eager'))",
    "t5": "T5ForConditionalGeneration(T5Config(d_model=64, d_ff=128, d_kv=16, num_layers=2, num_heads=4, "
    "vocab_size=1000, attn_implementation='eager'))",
    "vit": "ViTModel(ViTConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, "
    "image_size=32, patch_size=8, attn_implementation='eager'))",
}

INPUTS = {
    "bert": "{'input_ids': torch.zeros(2, 16, dtype=torch.int64), 'attention_mask': torch.ones(2, 16, dtype=torch.int64)}",
    "gpt2": "{'input_ids': torch.zeros(2, 16, dtype=torch.int64), 'attention_mask': torch.ones(2, 16, dtype=torch.int64)}",
    "t5": "{'input_ids': torch.zeros(2, 16, dtype=torch.int64), 'decoder_input_ids': torch.zeros(2, 8, dtype=torch.int64)}",
    "vit": "{'pixel_values': torch.zeros(2, 3, 32, 32)}",
}


def model_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}_model.py"
    path.write_text(textwrap.dedent(f"""
        import torch
        from transformers import {MODELS[kind].split("(")[0]}, {MODELS[kind].split("(")[1]}

        def build_model():
            torch.manual_seed(0)
            return {MODELS[kind]}

        def example_inputs():
            return {INPUTS[kind]}
    """))
    return path


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_hugging_face_model_file_with_keyword_inputs(tmp_path: Path, kind: str) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    path = model_file(tmp_path, kind)
    report = costlab.profile(str(path))
    namespace: dict[str, object] = {}
    exec(path.read_text(), namespace)  # noqa: S102 - the file written above
    model = namespace["build_model"]().eval()
    inputs = namespace["example_inputs"]()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(**inputs)
    assert report.totals.macs == counter.get_total_flops() // 2
    assert report.params == sum(p.numel() for p in model.parameters())
    assert report.input_shapes == [tuple(t.shape) for t in inputs.values()]
    result = CliRunner().invoke(app, ["profile", str(path), "-f", "json", "--strict"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["input_shapes"] == [list(t.shape) for t in inputs.values()]


def test_an_instance_takes_its_input_from_its_config() -> None:
    config = transformers.BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=64, vocab_size=100, max_position_embeddings=64)
    report = costlab.profile(transformers.BertModel(config))
    assert report.input_shapes == [(1, 64)]  # min(128, max_position_embeddings) tokens
    assert "BertModel's config" in report.notes[0]
