"""Layers of any loaded model: a .pt2 program's module tree comes back through torch.export.unflatten
with its original names and classes, a project architecture lists its own modules; each layer's
output shape is the one the original module gives; a missing name is one sentence with the nearest
names; a layer's output can be read and replaced."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from interp_core import cli
from interp_core.errors import LayerError
from interp_core.layers import capture, list_layers, replaced_output
from interp_core.modelfiles import find_model_layer, load_model_path, model_layers
from interp_core.store import SHIPPED_ROOT


class _Block(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=1)
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, x):
        return torch.relu(self.norm(self.conv(x))) + x


class _SeriesNet(nn.Module):
    """A 1-D CNN with nested blocks in a ModuleList, a Sequential head and an unused module."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv1d(2, 8, 5, padding=2)
        self.blocks = nn.ModuleList([_Block(8), _Block(8)])
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * 20, 3))
        self.unused = nn.Linear(3, 3)

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)


def _hooked_shapes(module: nn.Module, x: torch.Tensor) -> dict[str, list[int]]:
    """Each named module's output shape on the original, eager module (the reference)."""
    shapes, handles = {}, []

    def record(name):
        def hook(_module, _args, output):
            shapes.setdefault(name, list(output.shape))
        return hook

    for name, sub in module.named_modules():
        if name:
            handles.append(sub.register_forward_hook(record(name)))
    module(x)
    for handle in handles:
        handle.remove()
    return shapes


@pytest.fixture(scope="module")
def series_pt2(tmp_path_factory):
    torch.manual_seed(0)
    model = _SeriesNet().eval()
    x = torch.randn(4, 2, 20)
    path = tmp_path_factory.mktemp("pt2") / "series.pt2"
    torch.export.save(torch.export.export(model, (x,), dynamic_shapes={"x": {0: torch.export.Dim("batch")}}), str(path))
    return path, model, x


def test_an_exported_program_lists_its_original_layers_with_their_shapes(series_pt2):
    path, model, x = series_pt2
    loaded = load_model_path(path)
    assert loaded.kind == "pt2" and loaded.description()["parameters"] == sum(t.numel() for t in model.state_dict().values())
    layers = {layer.name: layer for layer in model_layers(loaded)}
    reference = _hooked_shapes(model, x)  # the program's saved example input is x
    for name in ("stem", "blocks.0", "blocks.0.conv", "blocks.1.norm", "head", "head.1"):
        assert layers[name].output_shape == reference[name], name
    assert layers["blocks.0"].type == "_Block" and layers["blocks.1.norm"].type == "BatchNorm1d" and layers["head"].type == "Sequential"
    assert layers["unused"].output_shape is None  # kept with its weights, never called
    # the unflattened tree computes what the program computes, and a layer is read with a hook
    tree = loaded.layer_module()
    torch.testing.assert_close(tree(x), loaded.module(x))
    torch.testing.assert_close(capture(tree, "blocks.0", ((x,), {})), model.blocks[0](model.stem(x)))


def test_a_missing_layer_name_lists_the_nearest_names(series_pt2):
    loaded = load_model_path(series_pt2[0])
    with pytest.raises(LayerError) as refused:
        find_model_layer(loaded, "block.1.conv")
    sentence = str(refused.value)
    assert "no layer 'block.1.conv'" in sentence and "'blocks.1.conv'" in sentence and "\n" not in sentence


def test_a_project_architecture_lists_its_modules(tmp_path):
    folder = SHIPPED_ROOT / "wine-mlp"
    loaded = load_model_path(folder / "model.safetensors", folder / "manifest.json")
    assert loaded.kind == "safetensors"
    layers = model_layers(loaded)
    reference = _hooked_shapes(loaded.module, loaded.inputs[0][0])
    assert [layer.name for layer in layers] == [n for n, _ in loaded.module.named_modules() if n]
    assert all(layer.output_shape == reference.get(layer.name) for layer in layers)
    assert any(layer.output_shape == [2, 3] for layer in layers)  # the head: 3 wine classes for the 2 sample rows


def test_capture_stops_early_and_replaced_output_changes_what_follows():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    later = []
    model[2].register_forward_hook(lambda *_: later.append(True))
    x = torch.randn(5, 3)
    torch.testing.assert_close(capture(model, "0", ((x,), {})), model[0](x))
    assert later == []  # the layers after the captured one did not run
    with replaced_output(model, "1", torch.zeros_like):
        torch.testing.assert_close(model(x), model[2].bias.expand(5, 2))
    torch.testing.assert_close(model(x), model[2](model[1](model[0](x))))  # the hook is gone afterwards
    with pytest.raises(LayerError, match="nearest"):
        capture(model, "3", ((x,), {}))


def test_a_model_that_fails_on_its_sample_is_one_sentence():
    from interp_core.modelfiles import ModelFileError

    with pytest.raises(ModelFileError, match=r"failed on a sample input \(\(2, 5\)\)"):
        list_layers(nn.Linear(3, 2), ((torch.zeros(2, 5),), {}))


def test_load_model_cli_lists_a_pt2_s_layers_and_keeps_its_keys(series_pt2, capsys):
    path = series_pt2[0]
    assert cli.main(["load-model", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["format"] == "torch.export" and result["input_shape"] == [2, 20] and result["n_outputs"] == 3
    assert result["model"] == {"path": str(path), "kind": "pt2", "parameters": result["n_parameters"]}
    assert {"name": "head.1", "type": "Linear", "output_shape": [4, 3]} in result["layers"]
    assert cli.main(["load-model", str(path)]) == 0
    assert "blocks.1.conv" in capsys.readouterr().out


def test_a_program_without_module_names_lists_its_flat_graph_with_a_note(tmp_path):
    from tests import hostile_pt2

    root, members = hostile_pt2._members(hostile_pt2.export_tiny(tmp_path / "clean.pt2"))

    def drop_metadata(program):
        for node in program["graph_module"]["graph"]["nodes"]:
            node["metadata"] = {}

    hostile_pt2._edit_json(members, f"{root}/models/model.json", drop_metadata)
    loaded = load_model_path(hostile_pt2._write(members, tmp_path / "flat.pt2"))
    layers = {layer.name: layer for layer in model_layers(loaded)}
    assert layers["layer"].output_shape is None  # its weights' holder, never called as a module
    assert "keeps no module names" in loaded.summary.notes[-1]
    assert loaded.module(torch.randn(3, 4)).shape == (3, 3)


def test_a_hook_acts_only_on_its_own_thread_s_forward_passes():
    """One shared model, two sessions' threads: while one thread has layer '0' replaced (an SAE spliced in, a
    feature steered) and the other captures layer '0' with the rest of the pass skipped, each sees only its own hook."""
    import threading

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    x = torch.randn(8, 4)
    with torch.no_grad():
        clean = model(x)
        first = model[0](x)
    inside, started, done, seen = threading.Event(), threading.Event(), threading.Event(), {}

    def splicer():
        with torch.no_grad(), replaced_output(model, "0", torch.zeros_like):
            started.set()
            inside.wait(10)
            seen["spliced"] = model(x)
        done.set()

    thread = threading.Thread(target=splicer)
    thread.start()
    started.wait(10)
    with torch.no_grad():
        seen["other_forward"] = model(x)  # the other thread's replacement is registered right now
        seen["other_capture"] = capture(model, "0", ((x,), {}))
    inside.set()
    thread.join(10)
    assert done.is_set()
    assert torch.equal(seen["other_forward"], clean)
    assert torch.equal(seen["other_capture"], first)
    assert torch.equal(seen["spliced"], model[2](torch.zeros(8, 4)))  # the splicing thread's own pass: layer 0's output zeroed
