"""Local Hugging Face folders: tiny BERT, BERT classifier and GPT-2 built from transformers configs
load through interp_core.hfmodels with their layers; every crafted folder (remote code, pickle
weights, unknown architecture, non-JSON files, lying safetensors headers, a config declaring a huge
model) is refused in one sentence and nothing in it runs."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
import torch

from interp_core import cli
from interp_core.errors import InterpError, LayerError
from interp_core.hfmodels import load_huggingface_folder
from interp_core.modelfiles import ModelFileError, find_model_layer, load_model_path, model_layers

transformers = pytest.importorskip("transformers")

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "."]
TEXT = "the quick brown fox jumps over the lazy dog."


class _SideEffect:
    """Unpickling this creates a marker file: proof that code in a checkpoint ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _bert_config(**extra):
    return transformers.BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, max_position_embeddings=32, **extra)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Three tiny models saved with save_pretrained (the BERTs with a WordPiece tokenizer), and the modules they came from."""
    root = tmp_path_factory.mktemp("hf")
    torch.manual_seed(0)
    models = {
        "bert": transformers.BertModel(_bert_config()),
        "classifier": transformers.BertForSequenceClassification(_bert_config(num_labels=3)),
        "gpt2": transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=32, n_positions=32, n_embd=16, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0)),
    }
    tokenizer = transformers.BertTokenizer(vocab={w: i for i, w in enumerate(WORDS)})
    paths = {}
    for name, model in models.items():
        paths[name] = root / name
        model.eval().save_pretrained(paths[name])
        if name != "gpt2":
            tokenizer.save_pretrained(paths[name])
    return paths, models


def _copy(folders, name: str, tmp_path: Path) -> Path:
    target = tmp_path / f"{name}-copy"
    shutil.copytree(folders[0][name], target)
    return target


def _edit_json(path: Path, **changes) -> None:
    value = json.loads(path.read_text())
    value.update(changes)
    path.write_text(json.dumps(value))


def _refused(path: Path, *words: str) -> str:
    with pytest.raises(ModelFileError) as refused:
        load_model_path(path)
    sentence = str(refused.value)
    assert "\n" not in sentence and "Traceback" not in sentence and "Error:" not in sentence, sentence
    for word in words:
        assert word in sentence, (word, sentence)
    return sentence


# -- the three kinds load, compute what the original computes, and list their layers --------------
@pytest.mark.parametrize("name, kind, architecture, n_outputs", [
    ("bert", "encoder", "BertModel", None),
    ("classifier", "sequence-classifier", "BertForSequenceClassification", 3),
    ("gpt2", "causal-lm", "GPT2LMHeadModel", 32),
])
def test_each_kind_loads_and_computes_what_was_saved(folders, name, kind, architecture, n_outputs):
    paths, originals = folders
    model = load_huggingface_folder(paths[name])
    assert (model.kind, model.architecture, model.n_outputs) == (kind, architecture, n_outputs)
    original = originals[name]
    assert model.n_parameters == sum(p.numel() for p in original.parameters())
    _, inputs = model.example_inputs(TEXT)
    if name == "gpt2":
        assert model.tokenizer is None and model.notes and inputs["input_ids"].shape == (1, 8)
    else:
        assert inputs["input_ids"][0].tolist() == [2, 5, 6, 7, 8, 9, 10, 5, 11, 12, 13, 3]  # the folder's own WordPiece vocabulary
    with torch.no_grad():
        got, expected = model.module(**inputs), original(**inputs)
    torch.testing.assert_close(got[0], expected[0])


def test_layers_of_each_kind_have_their_output_shapes(folders):
    paths, _ = folders
    expected = {
        "bert": {"embeddings": [1, 12, 16], "encoder.layer.1": [1, 12, 16], "encoder.layer.1.intermediate.dense": [1, 12, 32]},
        "classifier": {"bert.encoder.layer.0": [1, 12, 16], "bert.pooler": [1, 16], "classifier": [1, 3]},
        "gpt2": {"transformer.wte": [1, 8, 16], "transformer.h.1.mlp.c_fc": [1, 8, 64], "lm_head": [1, 8, 32]},
    }
    for name, shapes in expected.items():
        loaded = load_model_path(paths[name])
        assert loaded.kind == "huggingface" and loaded.description() == {"path": str(paths[name]), "kind": "huggingface", "parameters": loaded.summary.n_parameters}
        layers = {layer.name: layer for layer in model_layers(loaded)}
        assert [n for n, _ in loaded.module.named_modules() if n] == list(layers)
        for layer_name, shape in shapes.items():
            assert layers[layer_name].output_shape == shape, (name, layer_name)
        assert layers[next(iter(shapes))].type == type(find_model_layer(loaded, next(iter(shapes)))).__name__


def test_a_layer_that_does_not_exist_names_the_nearest(folders):
    loaded = load_model_path(folders[0]["bert"])
    with pytest.raises(LayerError) as refused:
        find_model_layer(loaded, "encoder.layers.1")
    sentence = str(refused.value)
    assert "no layer 'encoder.layers.1'" in sentence and "'encoder.layer.1'" in sentence and "\n" not in sentence


def test_load_model_cli_prints_the_old_keys_plus_model_and_layers(folders, capsys):
    path = folders[0]["classifier"]
    assert cli.main(["load-model", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("file", "format", "architecture", "n_parameters", "input_shape", "n_outputs", "tensors", "notes"):
        assert key in result, key
    assert result["format"] == "huggingface" and result["architecture"] == "BertForSequenceClassification" and result["n_outputs"] == 3
    assert result["model"] == {"path": str(path), "kind": "huggingface", "parameters": result["n_parameters"]}
    assert {"name": "classifier", "type": "Linear", "output_shape": [1, 3]} in result["layers"]


# -- hostile folders -----------------------------------------------------------------------------------
def test_remote_code_is_refused_and_never_imported(folders, tmp_path):
    marker = tmp_path / "ran"
    for file in ("config.json", "tokenizer_config.json"):
        folder = _copy(folders, "bert", tmp_path / file)
        (folder / "modeling_evil.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n")
        _edit_json(folder / file, auto_map={"AutoModel": "modeling_evil.EvilModel", "AutoTokenizer": ["modeling_evil.EvilTokenizer", None]})
        _refused(folder, "auto_map", file)
    assert not marker.exists()


def test_pickle_only_weights_are_refused_unopened(folders, tmp_path):
    marker = tmp_path / "ran"
    folder = _copy(folders, "bert", tmp_path)
    (folder / "model.safetensors").unlink()
    torch.save({"embeddings.word_embeddings.weight": _SideEffect(marker)}, folder / "pytorch_model.bin")
    _refused(folder, "only pickle weights", "pytorch_model.bin")
    assert not marker.exists()
    torch.load(folder / "pytorch_model.bin", weights_only=False)  # the control: unpickling it runs code
    assert marker.exists()


def test_with_safetensors_beside_a_pickle_only_safetensors_are_read(folders, tmp_path, monkeypatch):
    """A crafted pytorch_model.bin next to model.safetensors: the model loads from the safetensors and
    no torch.load happens (every torch.load inside the loader would go through the spy)."""
    from interp_core import hfmodels

    marker = tmp_path / "ran"
    folder = _copy(folders, "bert", tmp_path)
    torch.save({"embeddings.word_embeddings.weight": _SideEffect(marker)}, folder / "pytorch_model.bin")
    calls = []
    monkeypatch.setattr(hfmodels, "_refuse_torch_load", lambda original, *args, **kwargs: calls.append(args) or original(*args, **kwargs))
    model = load_huggingface_folder(folder)
    assert calls == [] and not marker.exists()
    torch.testing.assert_close(model.module.embeddings.word_embeddings.weight, folders[1]["bert"].embeddings.word_embeddings.weight)


@pytest.mark.parametrize("change, words", [
    ({"architectures": ["EvilBertModel"]}, ("'EvilBertModel'", "not in transformers' registry")),
    ({"model_type": "not-a-model"}, ("'not-a-model'", "does not know")),
    ({"architectures": ["GPT2LMHeadModel"]}, ("GPT2LMHeadModel", "another type")),
])
def test_unknown_architectures_are_refused(folders, tmp_path, change, words):
    folder = _copy(folders, "bert", tmp_path)
    _edit_json(folder / "config.json", **change)
    _refused(folder, *words)


@pytest.mark.parametrize("file, payload, words", [
    ("config.json", b"{'model_type': 'bert'}", ("config.json", "not valid JSON")),
    ("config.json", b"[" * 100_000, ("config.json", "levels deep")),
    ("tokenizer.json", b"\x80\x04\x95 not json", ("tokenizer.json",)),
    ("tokenizer_config.json", b"model_max_length: 512", ("tokenizer_config.json", "not valid JSON")),
    ("vocab.txt", b"[PAD]\n\xff\xfe\n", ("vocab.txt", "not UTF-8 text")),
])
def test_config_and_tokenizer_files_must_be_json_or_text(folders, tmp_path, file, payload, words):
    folder = _copy(folders, "bert", tmp_path)
    (folder / file).write_bytes(payload)
    _refused(folder, *words)


def _safetensors(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def test_a_lying_safetensors_header_is_refused_before_any_tensor_is_read(folders, tmp_path):
    folder = _copy(folders, "bert", tmp_path)
    huge = {"embeddings.word_embeddings.weight": {"dtype": "F32", "shape": [100_000, 100_000], "data_offsets": [0, 64]}}
    (folder / "model.safetensors").write_bytes(_safetensors(huge, bytes(64)))
    _refused(folder, "declares 10,000,000,000 values", "over the limit")
    lying = {"embeddings.word_embeddings.weight": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 64]}}
    (folder / "model.safetensors").write_bytes(_safetensors(lying, bytes(64)))
    _refused(folder, "[1000, 1000]", "header lies")
    past_the_end = {"embeddings.word_embeddings.weight": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}
    (folder / "model.safetensors").write_bytes(_safetensors(past_the_end, bytes(8)))
    _refused(folder, "past the 8 bytes")
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 2**40) + b"{}")
    _refused(folder, "header")


def test_declared_sizes_are_held_to_the_parameter_limit(folders, tmp_path, monkeypatch):
    folder = _copy(folders, "bert", tmp_path)
    monkeypatch.setenv("INTERP_MAX_PARAMS", "1000")
    _refused(folder, "over the limit of 1,000")
    monkeypatch.delenv("INTERP_MAX_PARAMS")
    # a config that builds a 16-billion-parameter embedding from the same small weights: counted on the meta device, refused
    _edit_json(folder / "config.json", vocab_size=1_000_000_000)
    _refused(folder, "builds a BertModel", "over the limit")


def test_missing_weights_are_refused_rather_than_left_random(folders, tmp_path):
    folder = _copy(folders, "bert", tmp_path)
    _edit_json(folder / "config.json", architectures=["BertForSequenceClassification"], num_labels=2)
    _refused(folder, "classifier", "random weights")


def test_folders_that_are_not_models_get_one_sentence(folders, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    _refused(empty, "not a model folder")
    folder = _copy(folders, "gpt2", tmp_path)
    (folder / "model.safetensors").unlink()
    _refused(folder, "no model.safetensors")
    assert issubclass(ModelFileError, InterpError)
