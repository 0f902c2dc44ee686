"""SAELens-format SAE folders (issue 17): read without SAELens, codes as SAELens's formulas give them,
the family's SAEs exported into the format with the same codes, and hostile folders refused in one
sentence. Every folder is written inside the test; nothing is downloaded."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from interp_core.cli import main
from interp_core.errors import ModelFileError
from interp_core.families.sae import explain
from interp_core.families.sae.models import build_sae
from interp_core.families.sae.saelens import SAELensSAE, export_sae, load_saelens_sae
from interp_core.saelens import check_input_width, is_saelens_folder, read_saelens, summarise
from interp_core.safetensorsguard import read_header

D_IN, D_SAE = 6, 20


# -- SAELens 6's formulas, written out from sae_lens/saes/{standard,topk,jumprelu,gated}_sae.py ----------
def reference_encode(cfg: dict, t: dict, x: torch.Tensor) -> torch.Tensor:
    sae_in = x - t["b_dec"] * cfg.get("apply_b_dec_to_input", True)
    arch = cfg["architecture"]
    if arch == "gated":
        gate = ((sae_in @ t["W_enc"] + t["b_gate"]) > 0).float()
        return gate * torch.relu(sae_in @ (t["W_enc"] * t["r_mag"].exp()) + t["b_mag"])
    hidden_pre = sae_in @ t["W_enc"] + t["b_enc"]
    if arch == "topk":
        if cfg.get("rescale_acts_by_decoder_norm"):
            hidden_pre = hidden_pre * t["W_dec"].norm(dim=-1)
        values, indices = torch.topk(hidden_pre, k=cfg["k"], dim=-1, sorted=False)
        return torch.zeros_like(hidden_pre).scatter_(-1, indices, values.relu())
    if arch == "jumprelu":
        return torch.relu(hidden_pre) * (hidden_pre > t["threshold"]).float()
    return torch.relu(hidden_pre)


def reference_decode(cfg: dict, t: dict, codes: torch.Tensor) -> torch.Tensor:
    if cfg.get("rescale_acts_by_decoder_norm"):
        codes = codes / t["W_dec"].norm(dim=-1)
    return codes @ t["W_dec"] + t["b_dec"]


def random_tensors(arch: str, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    t = {"W_enc": torch.randn(D_IN, D_SAE, generator=g), "W_dec": torch.randn(D_SAE, D_IN, generator=g), "b_dec": torch.randn(D_IN, generator=g)}
    if arch == "gated":
        t.update({"b_gate": torch.randn(D_SAE, generator=g), "b_mag": torch.randn(D_SAE, generator=g), "r_mag": 0.3 * torch.randn(D_SAE, generator=g)})
    else:
        t["b_enc"] = 0.5 * torch.randn(D_SAE, generator=g)
    if arch == "jumprelu":
        t["threshold"] = torch.rand(D_SAE, generator=g)
    return t


def v6_cfg(arch: str, **extra) -> dict:
    """cfg.json as SAELens 6's SAEConfig.to_dict writes it."""
    cfg = {"architecture": arch, "d_in": D_IN, "d_sae": D_SAE, "dtype": "float32", "device": "cpu", "apply_b_dec_to_input": True,
           "normalize_activations": "none", "reshape_activations": "none",
           "metadata": {"sae_lens_version": "6.18.0", "model_name": "gpt2", "hook_name": "blocks.3.hook_resid_pre"}}
    if arch == "topk":
        cfg.update({"k": 4, "rescale_acts_by_decoder_norm": False})
    cfg.update(extra)
    return cfg


def write_folder(folder: Path, cfg, tensors: dict | None, raw_cfg: bytes | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cfg.json").write_bytes(raw_cfg if raw_cfg is not None else json.dumps(cfg).encode())
    if tensors is not None:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / "sae_weights.safetensors"))
    return folder


def inputs(n: int = 300, scale: float = 2.0, seed: int = 1) -> torch.Tensor:
    return scale * torch.randn(n, D_IN, generator=torch.Generator().manual_seed(seed))


def refused(folder: Path, match: str) -> str:
    with pytest.raises(ModelFileError, match=match) as info:
        read_saelens(folder)
    message = str(info.value)
    assert "\n" not in message and message.endswith(".")
    return message


# -- reading: the same codes as SAELens --------------------------------------------------------------
CASES = [
    ("standard", {}),
    ("standard", {"apply_b_dec_to_input": False}),
    ("topk", {}),
    ("topk", {"rescale_acts_by_decoder_norm": True}),
    ("jumprelu", {}),
    ("gated", {}),
]


@pytest.mark.parametrize("arch, extra", CASES, ids=[f"{a}{'-' + '-'.join(e) if e else ''}" for a, e in CASES])
def test_an_saelens_folder_encodes_and_decodes_as_saelens_formulas_do(tmp_path, arch, extra):
    cfg, t = v6_cfg(arch, **extra), random_tensors(arch)
    sae = load_saelens_sae(write_folder(tmp_path / arch, cfg, t))
    x = inputs()
    codes, expected = sae.encode(x), reference_encode(cfg, t, x)
    assert (codes > 0).float().mean() > 0.05, "the inputs must make some latents fire for the comparison to mean anything"
    assert torch.equal(codes > 0, expected > 0)
    torch.testing.assert_close(codes, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(sae.decode(codes), reference_decode(cfg, t, expected), rtol=1e-5, atol=1e-4)
    assert sae.config.hook_name == "blocks.3.hook_resid_pre" and isinstance(sae, SAELensSAE)


def test_the_sae_views_run_on_an_saelens_sae(tmp_path):
    sae = load_saelens_sae(write_folder(tmp_path / "s", v6_cfg("topk"), random_tensors("topk")))
    acts = inputs(200).numpy()
    codes = explain.encode_codes(sae, acts, "cpu")
    quality = explain.reconstruction_metrics(sae, acts, "cpu")
    assert codes.width == D_SAE and quality["l0"] == pytest.approx(4.0, abs=0.05)  # k=4 latents per example (a ReLU may zero one)
    assert math.isfinite(quality["explained_variance"]) and quality["explained_variance"] < 1  # random weights reconstruct badly, but the number is computed


def test_expected_average_normalisation_is_folded_from_the_trainers_scaler(tmp_path):
    """SAELens trains such an SAE on x * factor; the factor from activation_scaler.json is folded in."""
    cfg, t = v6_cfg("standard", normalize_activations="expected_average_only_in"), random_tensors("standard")
    folder = write_folder(tmp_path / "n", cfg, t)
    refused(folder, "no activation_scaler.json")
    (folder / "activation_scaler.json").write_text(json.dumps({"scaling_factor": 0.25}))
    sae = load_saelens_sae(folder)
    x = inputs(scale=8.0)
    expected = reference_encode(cfg, t, x * 0.25)
    torch.testing.assert_close(sae.encode(x), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(sae.decode(sae.encode(x)), reference_decode(cfg, t, expected) / 0.25, rtol=1e-5, atol=1e-4)
    assert "folded" in " ".join(read_saelens(folder).notes)


def test_a_config_written_before_saelens_6_is_read_with_its_old_keys(tmp_path):
    cfg = {"d_in": D_IN, "d_sae": D_SAE, "hook_point": "blocks.0.hook_resid_pre", "activation_fn_str": "topk", "activation_fn_kwargs": {"k": 3},
           "model_name": "gpt2-small", "normalize_activations": False, "dtype": "torch.float32"}
    t = random_tensors("topk")
    folder = write_folder(tmp_path / "old", cfg, t)
    summary = summarise(folder)
    assert (summary["architecture"], summary["k"], summary["hook_name"], summary["model_name"]) == ("topk", 3, "blocks.0.hook_resid_pre", "gpt2-small")
    x = inputs()
    torch.testing.assert_close(load_saelens_sae(folder).encode(x), reference_encode({"architecture": "topk", "k": 3}, t, x), rtol=1e-5, atol=1e-5)


def test_summary_and_folder_detection(tmp_path):
    folder = write_folder(tmp_path / "j", v6_cfg("jumprelu"), random_tensors("jumprelu"))
    save_file({"sparsity": torch.full((D_SAE,), -2.0)}, str(folder / "sparsity.safetensors"))
    summary = summarise(folder)
    assert summary["model"] == {"path": str(folder), "kind": "saelens", "parameters": 2 * D_IN * D_SAE + 2 * D_SAE + D_IN}
    assert (summary["architecture"], summary["d_in"], summary["d_sae"], summary["hook_name"], summary["sparsity"]) == ("jumprelu", D_IN, D_SAE, "blocks.3.hook_resid_pre", True)
    assert is_saelens_folder(folder) and not is_saelens_folder(folder / "cfg.json") and not is_saelens_folder(tmp_path)
    with pytest.raises(ModelFileError, match=r"d_in=6 numbers but layer 'encoder.layer.2' gives 384"):
        check_input_width(read_saelens(folder), 384, "encoder.layer.2")


# -- the family's SAEs exported into the format ------------------------------------------------------
def trained_like(arch: str, **settings):
    """A family SAE with random weights, an input_scale far from 1 and (batchtopk) a learned threshold."""
    torch.manual_seed(3)
    sae = build_sae(arch, {"d_in": D_IN, "width": D_SAE, **settings})
    sae.fit_input(7.0 * torch.randn(500, D_IN) + 3.0)
    with torch.no_grad():
        sae.b_enc.normal_(0, 0.3)
        sae.W_enc.add_(0.2 * torch.randn_like(sae.W_enc))
        if arch == "batchtopk":
            sae.threshold.fill_(0.4)
        if arch == "jumprelu":  # a threshold of its own per latent
            sae.log_threshold.copy_(torch.log(0.2 + 0.4 * torch.rand(sae.width)))
    assert abs(float(sae.input_scale) - 7.0) < 1.0
    return sae.eval()


@pytest.mark.parametrize("arch, settings, saelens_arch", [("relu", {}, "standard"), ("topk", {"k": 4}, "topk"), ("batchtopk", {"k": 4}, "jumprelu"), ("jumprelu", {}, "jumprelu")])
def test_export_then_read_gives_the_same_codes(tmp_path, arch, settings, saelens_arch):
    sae = trained_like(arch, **settings)
    export_sae(sae, tmp_path / arch, hook_name="body", metadata={"model_name": "digits-mlp"})
    cfg = json.loads((tmp_path / arch / "cfg.json").read_text())
    assert cfg["architecture"] == saelens_arch and cfg["metadata"]["hook_name"] == "body" and cfg["metadata"]["sae_lens_version"].startswith("6.")
    x = 7.0 * torch.randn(400, D_IN) + 3.0
    ours = sae.encode(x)
    assert (ours > 0).float().mean() > 0.05
    back = load_saelens_sae(tmp_path / arch)
    theirs = back.encode(x)
    assert torch.equal(ours > 0, theirs > 0)
    torch.testing.assert_close(theirs, ours, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(back.decode(theirs), sae.decode(ours), rtol=1e-5, atol=1e-4)
    # the input_scale is folded into the written tensors: SAELens's own formulas on the file give our codes
    written = read_saelens(tmp_path / arch)
    torch.testing.assert_close(reference_encode(cfg, written.tensors, x), ours, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(written.tensors["b_dec"], sae.b_dec.detach() * sae.input_scale)


def test_an_exported_saelens_sae_exports_back_unchanged(tmp_path):
    t = random_tensors("gated")
    first = load_saelens_sae(write_folder(tmp_path / "g", v6_cfg("gated"), t))
    export_sae(first, tmp_path / "again")
    again = read_saelens(tmp_path / "again")
    assert again.config.hook_name == "blocks.3.hook_resid_pre"
    for name, tensor in t.items():
        assert torch.equal(again.tensors[name], tensor), name


def test_matching_pursuit_is_refused_with_a_sentence_and_nothing_is_written(tmp_path):
    with pytest.raises(ModelFileError, match="matching-pursuit SAE cannot be written in SAELens's format"):
        export_sae(trained_like("mp", k=3), tmp_path / "mp")
    assert not (tmp_path / "mp").exists()


def test_export_sae_cli_writes_a_folder_that_reads_back(tmp_path, capsys):
    out, store = tmp_path / "toy", ["--store", str(tmp_path / "store")]  # an empty store in front of the shipped one
    assert main(["export-sae", "toy-sae", "--out", str(out), "--json", *store]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["out"] == str(out) and (result["architecture"], result["d_in"], result["d_sae"], result["hook_name"]) == ("topk", 12, 96, "hidden")
    summary = summarise(out)
    assert summary["sparsity"] and summary["model"]["parameters"] == 2 * 12 * 96 + 96 + 12
    assert main(["export-sae", "toy-sae-mp", "--out", str(tmp_path / "mp"), "--json", *store]) == 2
    assert "matching-pursuit" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert main(["export-sae", "wine-rules", "--out", str(tmp_path / "w"), *store]) == 2
    assert "is not an SAE recipe" in capsys.readouterr().err


# -- hostile folders: one sentence each, nothing loaded ----------------------------------------------
def test_d_in_that_does_not_match_the_tensors_is_refused(tmp_path):
    folder = write_folder(tmp_path / "d", v6_cfg("standard", d_in=16), random_tensors("standard"))
    message = refused(folder, r"d_in=16")
    assert "[6, 20]" in message and "[16, 20]" in message


def test_a_header_declaring_huge_tensors_is_refused_before_reading(tmp_path):
    folder = write_folder(tmp_path / "h", v6_cfg("standard"), None)
    header = json.dumps({"W_enc": {"dtype": "F32", "shape": [100_000, 100_000], "data_offsets": [0, 40_000_000_000]}}).encode()
    (folder / "sae_weights.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)
    refused(folder, r"declares 10,000,000,000 values, over the limit")
    header = json.dumps({"W_enc": {"dtype": "F32", "shape": [1000, 100], "data_offsets": [0, 400_000]}}).encode()
    (folder / "sae_weights.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)
    refused(folder, r"past the 64 bytes the file holds")
    (folder / "sae_weights.safetensors").write_bytes(struct.pack("<Q", 2**40) + b"{}")
    refused(folder, r"declares a 1,099,511,627,776-byte header")


def test_a_header_whose_sizes_or_ranges_lie_is_refused(tmp_path):
    path = tmp_path / "x.safetensors"
    header = json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    with pytest.raises(ModelFileError, match=r"\[4\] of F32 \(16 bytes\) in a range of 8 bytes"):
        read_header(path)
    header = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 12)
    with pytest.raises(ModelFileError, match="overlaps"):
        read_header(path)


def test_nan_weights_are_refused(tmp_path):
    t = random_tensors("topk")
    t["W_dec"][3, 2] = float("nan")
    refused(write_folder(tmp_path / "nan", v6_cfg("topk"), t), r"'W_dec' has 1 NaN or infinite value")


def test_a_cfg_that_is_not_json_is_refused(tmp_path):
    folder = write_folder(tmp_path / "c", None, random_tensors("standard"), raw_cfg=b"d_in: 6\nd_sae: 20\n")
    refused(folder, r"'cfg.json' in 'c' is not valid JSON")
    folder = write_folder(tmp_path / "c2", None, random_tensors("standard"), raw_cfg=b"[1, 2]")
    refused(folder, r"not a JSON object")


@pytest.mark.parametrize("arch, match", [("mystery", "names architecture 'mystery', an architecture this explorer does not read"),
                                         ("transcoder", "a transcoder"), ("batchtopk", "training checkpoint")])
def test_an_unknown_architecture_is_refused(tmp_path, arch, match):
    refused(write_folder(tmp_path / arch, v6_cfg(arch), random_tensors("standard")), match)


@pytest.mark.parametrize("extra, tensors, match", [
    ({"normalize_activations": "layer_norm"}, None, "rescales every input by its own norm"),
    ({"k": 99}, None, "k=99; expected a whole number from 1 to d_sae=20"),
    ({"d_sae": True}, None, "gives d_sae true; expected a positive whole number"),
    ({}, "extra", "needs exactly W_enc, b_enc, W_dec, b_dec"),
    ({}, "int", "holds W_enc as I64"),
])
def test_other_bad_configs_and_weights_are_refused(tmp_path, extra, tensors, match):
    t = random_tensors("topk")
    if tensors == "extra":
        t["secret"] = torch.zeros(3)
    if tensors == "int":
        t["W_enc"] = t["W_enc"].long()
    refused(write_folder(tmp_path / "b", v6_cfg("topk", **extra), t), match)


def test_an_oversized_cfg_or_unreadable_weights_are_refused(tmp_path):
    folder = write_folder(tmp_path / "big", None, random_tensors("standard"), raw_cfg=b'{"d_in": 6, "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    refused(folder, r"larger than the 1,048,576-byte limit")
    folder = write_folder(tmp_path / "short", v6_cfg("standard"), None)
    (folder / "sae_weights.safetensors").write_bytes(b"\x80\x04")  # a pickle's first bytes, under the safetensors name
    refused(folder, r"too short for a safetensors file")


def test_load_model_recognises_an_saelens_folder(tmp_path, capsys):
    folder = write_folder(tmp_path / "sae", v6_cfg("jumprelu"), random_tensors("jumprelu"))
    assert main(["load-model", str(folder), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["model"] == {"path": str(folder), "kind": "saelens", "parameters": 2 * D_IN * D_SAE + 2 * D_SAE + D_IN}
    assert (result["architecture"], result["d_in"], result["d_sae"], result["hook_name"]) == ("jumprelu", D_IN, D_SAE, "blocks.3.hook_resid_pre")
    write_folder(folder, v6_cfg("jumprelu", d_in=7), None)
    assert main(["load-model", str(folder), "--json"]) == 2
    assert "d_in=7" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
