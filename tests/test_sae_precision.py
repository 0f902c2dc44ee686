"""bf16 autocast in SAE training (issue 19): every architecture keeps its metrics, the TopK family's
chosen values stay float32, and the CLI records the precision or refuses it for other families."""

from __future__ import annotations

import json

import pytest
import torch

from interp_core import recipes
from interp_core.cli.main import main
from interp_core.errors import RecipeError
from interp_core.families.sae import explain
from interp_core.families.sae.models import SAE_ARCHITECTURES, TopKSAE, build_sae


@pytest.fixture(scope="module")
def toy_acts() -> torch.Tensor:
    """4,096 sparse combinations of 256 unit directions in d = 32."""
    g = torch.Generator().manual_seed(0)
    features = torch.randn(256, 32, generator=g)
    features /= features.norm(dim=1, keepdim=True)
    codes = (torch.rand(4096, 256, generator=g) < 0.03).float() * torch.rand(4096, 256, generator=g) * 3
    return codes @ features


def _train(arch: str, acts: torch.Tensor, precision: str):
    settings = {"d_in": 32, "width": 128, **({"k": 8} if arch in ("topk", "batchtopk", "matryoshka", "mp") else {})}
    torch.manual_seed(0)
    sae = build_sae(arch, settings).fit_input(acts[:1024])
    config = explain.SAETrainConfig(steps=120, batch_size=256, lr=1e-3, precision=precision)
    result = explain.train_sae(sae, acts, config, device="cpu", seed=0, log_points=1)
    return sae, result.history["explained_variance"][-1], result.history["l0"][-1]


@pytest.mark.parametrize("arch", SAE_ARCHITECTURES)
def test_bf16_autocast_keeps_each_architectures_metrics(arch, toy_acts):
    _, ev32, l0_32 = _train(arch, toy_acts, "fp32")
    sae, ev16, l0_16 = _train(arch, toy_acts, "bf16")
    assert ev32 > 0.5  # the toy is learnt at all, so a kept metric means something
    assert ev16 == pytest.approx(ev32, abs=0.01) and l0_16 == pytest.approx(l0_32, rel=0.05, abs=0.2)
    assert all(p.dtype == torch.float32 for p in sae.parameters())  # autocast never casts the weights


def test_bf16_picks_latents_from_a_bf16_product_but_trains_on_exact_float32_values(toy_acts, monkeypatch):
    seen = []
    real = TopKSAE.select_values
    monkeypatch.setattr(TopKSAE, "select_values", lambda self, pre: (seen.append(pre.dtype), real(self, pre))[1])
    sae = build_sae("topk", {"d_in": 32, "width": 128, "k": 8}).fit_input(toy_acts[:1024])
    x = toy_acts[:64]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, stats = sae.training_loss(x)
    assert seen == [torch.bfloat16] and loss.dtype == torch.float32
    rows, cols, low = sae.select_values(sae.pre_acts(x).bfloat16())
    exact = sae.pre_acts(x)[rows, cols]  # the float32 product's values of the same pairs
    chosen = sae._chosen(low, x / sae.input_scale - sae.b_dec, rows, cols)
    assert chosen.dtype == torch.float32 and torch.allclose(chosen, exact, atol=1e-5)
    assert not torch.allclose(low.float(), exact, atol=1e-5)  # bf16's own values would not be


def test_an_unknown_precision_is_refused_in_one_sentence(toy_acts):
    sae = build_sae("topk", {"d_in": 32, "width": 16, "k": 2})
    with pytest.raises(RecipeError, match="precision 'fp8' is not known; expected one of fp32, bf16"):
        explain.train_sae(sae, toy_acts, explain.SAETrainConfig(steps=1, precision="fp8"), device="cpu")


def test_train_precision_bf16_is_recorded_for_an_sae_recipe_and_refused_for_others(tmp_path, capsys, monkeypatch):
    recipes.get_recipe("toy-sae")  # the registry is filled before the test recipe joins it, and leaves with it
    monkeypatch.setattr(recipes, "_RECIPES", dict(recipes._RECIPES))
    recipes.register(recipes.Recipe("toy-sae-bf16-test", "sae", "toy_superposition", "sae-topk", {"source": "toy", "width": 96, "k": 3, "toy_steps": 300},
                                    {"epochs": 2, "batch_size": 512, "lr": 3e-3, "dead_window": 200}, "test recipe", trainer="sae"))
    assert main(["train", "toy-sae-bf16-test", "--precision", "bf16", "--no-umap", "--device", "cpu", "--json", "--store", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["precision"] == "bf16" and result["world_size"] == 1 and result["explained_variance"] > 0.3
    manifest = recipes.load("toy-sae-bf16-test", recipes.Catalog(recipes.Store(tmp_path)), "cpu").manifest
    assert manifest["train_config"]["precision"] == "bf16"
    assert main(["train", "wine-rules", "--precision", "bf16", "--json", "--store", str(tmp_path)]) == 2
    assert "applies to SAE recipes; 'wine-rules' is a rules recipe" in capsys.readouterr().out
