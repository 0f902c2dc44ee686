"""Transcoders (sparse features that read a block's input and write its output) and feature circuits between two of them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_core import cli
from interp_core.errors import DataError
from interp_core.families.sae import explain
from interp_core.families.sae.circuits import connection_weights, feature_circuit
from interp_core.families.sae.hosts import MLPBlock
from interp_core.families.sae.models import TopKTranscoder, build_sae
from interp_core.families.sae.steer import steering_transform
from interp_core.models.classifiers import MLPClassifier


def _hand_built(width: int, d_in: int, d_out: int, W_enc, W_dec, b_enc=None) -> TopKTranscoder:
    """A transcoder with k = width (every positive pre-activation fires), no centring, unit scales."""
    t = TopKTranscoder(d_in, width, k=width, d_out=d_out)
    with torch.no_grad():
        t.W_enc.copy_(torch.as_tensor(W_enc, dtype=torch.float32))
        t.W_dec.copy_(torch.as_tensor(W_dec, dtype=torch.float32))
        t.b_enc.copy_(torch.zeros(width) if b_enc is None else torch.as_tensor(b_enc, dtype=torch.float32))
        t.b_in.zero_()
        t.b_dec.zero_()
    return t.eval()


@pytest.fixture(scope="module")
def planted():
    """Upstream: feature i fires on input i (6 inputs) and writes output direction D[i] (4 dims);
    feature 3 writes e0 and nothing else does. Downstream: feature 5 reads e0 (weight 2), the other
    features read e1..e3; so the only strong edge into 5 comes from upstream 3."""
    D = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 0.6, 0.8, 0], [0, 0, 0.6, 0.8]], dtype=np.float32)
    up = _hand_built(6, 6, 4, np.eye(6), D)
    E = np.zeros((8, 4), dtype=np.float32)
    E[5, 0] = 2.0
    E[[0, 1, 2, 6], [1, 2, 3, 1]] = 1.0
    E[[3, 4, 7], [2, 3, 3]] = 0.5
    down = _hand_built(8, 4, 4, E, np.eye(8, 4), b_enc=np.full(8, 0.05))
    x = np.random.default_rng(0).uniform(0.2, 1.0, size=(64, 6)).astype(np.float32)
    y = up.decode(up.encode(torch.as_tensor(x))).detach().numpy() + 0.01  # the block's true output: the transcoder's plus a small error
    return up, down, np.concatenate([x, y], 1)


def test_planted_circuit_ranks_the_planted_edge_first_and_the_ablation_confirms_it(planted):
    up, down, acts = planted
    edges = feature_circuit(up, down, acts, 5, top=6)
    assert edges[0].upstream == 3
    assert edges[0].weight == pytest.approx(2.0, abs=1e-5)
    mean_act3 = float(acts[:, 3].mean())  # upstream 3's activation is its input
    assert edges[0].ablation_drop == pytest.approx(2.0 * mean_act3, rel=1e-4)
    assert edges[0].n_examples == 64
    rest = {e.upstream: e for e in edges[1:]}
    assert set(rest) == {0, 1, 2, 4, 5}
    for edge in rest.values():  # no planted edge: no weight, and zeroing it leaves feature 5 where it was
        assert abs(edge.weight) < 1e-6
        assert abs(edge.ablation_drop) < 1e-5
        assert edge.n_examples == 64


def test_connection_weights_go_through_the_map_between_blocks(planted):
    up, down, _ = planted
    swap = torch.tensor([[0.0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])  # the upstream's e1 arrives as the downstream's e0
    weights = connection_weights(up, down, 5, between=lambda h: h @ swap + 3.0)  # affine: the bias does not count
    assert int(np.argmax(np.abs(weights))) == 0 and weights[0] == pytest.approx(2.0, abs=1e-5)
    assert weights[3] == pytest.approx(0.0, abs=1e-6)


def test_a_bad_feature_is_one_sentence(planted):
    up, down, acts = planted
    with pytest.raises(DataError, match="Feature 8 does not exist"):
        feature_circuit(up, down, acts, 8)


def test_transcoder_reads_the_input_and_is_scored_on_the_output():
    torch.manual_seed(0)
    x = torch.randn(400, 5)
    y = torch.relu(x @ torch.randn(5, 3))
    packed = torch.cat([x, y], 1)
    t = build_sae("transcoder", {"d_in": 5, "width": 16, "k": 4, "d_out": 3}).fit_input(packed)
    assert torch.equal(t.encode(packed), t.encode(x))  # packed rows or the input alone: the same codes
    assert t.decode(t.encode(x)).shape == (400, 3)
    before = explain.reconstruction_metrics(t, packed.numpy())["explained_variance"]
    explain.train_sae(t, packed.numpy(), explain.SAETrainConfig(steps=200, batch_size=100, lr=1e-2, dead_window=50), device="cpu")
    after = explain.reconstruction_metrics(t, packed.numpy())
    assert after["explained_variance"] > 0.8 > before
    assert after["l0"] <= 4


def test_mlp_block_splices_a_transcoder_and_no_change_keeps_the_model():
    torch.manual_seed(0)
    mlp = MLPClassifier([6], 3, hidden=[5, 4]).eval()
    x = torch.randn(10, 6)
    for block in (0, 1):
        host = MLPBlock(mlp, block)
        assert set(host.state_dict()) == {f"mlp.{k}" for k in mlp.state_dict()}  # the block holds no weights of its own
        assert torch.allclose(host.forward_with(x, lambda packed: packed), mlp(x))
        t = TopKTranscoder(host.d_in, 8, k=3, d_out=host.d_out).fit_input(host.activations(x))
        no_change = steering_transform(t, [0, 1], "scale", 1.0)
        assert torch.allclose(host.forward_with(x, no_change), mlp(x), atol=1e-5)  # the error term is kept
    assert MLPBlock(mlp, 1).output_directions().shape == (3, 4) and MLPBlock(mlp, 0).output_directions() is None


def _cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_circuit_and_explain_on_the_shipped_transcoders(capsys, interp_store_env):
    code, out, _ = _cli(capsys, "circuit", "digits-transcoder", "--feature", "34", "--top", "3", "--json")
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert result["upstream_recipe"] == "digits-transcoder-l1" and len(result["edges"]) == 3
    for row in result["edges"]:
        assert set(row) == {"upstream", "weight", "ablation_drop", "n_examples"}
    weights = [abs(row["weight"]) for row in result["edges"]]
    assert weights == sorted(weights, reverse=True) and result["edges"][0]["ablation_drop"] > 0
    code, out, _ = _cli(capsys, "explain", "sae", "digits-transcoder", "--json")
    explained = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and explained["transcoder"] is True and explained["arch"] == "transcoder"
    assert explained["spliced_accuracy"] == explained["accuracy_sae"] > 0.9 > explained["accuracy_zero"]
    assert 0.9 < explained["explained_variance"] <= 1 and explained["l0"] <= 8
    for argv, message in ((("digits-transcoder-l1", "--feature", "3"), "no upstream transcoder"), (("digits-transcoder", "--feature", "128"), "features 0 to 127")):
        code, _, err = _cli(capsys, "circuit", *argv)
        assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_minilm_block_packs_the_mlp_s_input_and_output_and_splices_it_back():
    from interp_core.families.sae import data as sources
    from interp_core.families.sae.hosts import MiniLMBlock, MiniLMTopics

    encoder = sources.load_minilm()
    host, residual = MiniLMBlock(encoder, 2, 3).eval(), MiniLMTopics(encoder, 3, 3).eval()
    x = torch.as_tensor(sources.encode_text("The for statement iterates over the items of a sequence."))
    with torch.no_grad():
        packed = host.activations(x)
        assert packed.shape == (int(MiniLMTopics.content_mask(x.long()).sum()), 2 * 384)
        assert torch.allclose(host.mlp(packed[:, :384]), packed[:, 384:])
        same = host.embed(x, lambda rows: rows)  # packed rows back: the block as it is
        assert torch.allclose(same, residual.embed(x), atol=1e-6)
        zeroed = host.embed(x, lambda rows: torch.zeros_like(rows[:, 384:]))
        assert float(torch.nn.functional.cosine_similarity(zeroed, same)) < 0.999
