"""Activations on disk: shards written resumably, checked on reading, streamed as shuffled batches, trained on."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_core.errors import StoreError
from interp_core.families.sae import explain as explain
from interp_core.families.sae.models import build_sae
from interp_core.families.sae.shards import INDEX, ShardSet, StreamedActivations, stream_batches, write_shards

D = 6


def numbered(start: int, stop: int) -> np.ndarray:
    """Row i holds i in its first column (exact in float32), so a read-back row says which it is."""
    rows = np.random.default_rng(start).standard_normal((stop - start, D)).astype(np.float32)
    rows[:, 0] = np.arange(start, stop)
    return rows


def test_an_interrupted_write_resumes_to_the_same_shards(tmp_path):
    whole = write_shards(tmp_path / "whole", 1000, D, numbered, shard_size=128, dtype="float32")
    assert (whole.shards, whole.written) == (8, 8)

    calls = []

    def dies_after_three(start, stop):
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user presses Ctrl-C while the fourth shard is produced
        calls.append(start)
        return numbered(start, stop)

    with pytest.raises(KeyboardInterrupt):
        write_shards(tmp_path / "cut", 1000, D, dies_after_three, shard_size=128, dtype="float32")
    index = json.loads((tmp_path / "cut" / INDEX).read_text())
    assert len(index["shards"]) == 3 and not index["complete"]
    with pytest.raises(StoreError, match="incomplete"):
        ShardSet(tmp_path / "cut")

    seen = []
    resumed = write_shards(tmp_path / "cut", 1000, D, lambda a, b: seen.append(a) or numbered(a, b), shard_size=128, dtype="float32")
    assert resumed.written == 5 and seen[0] == 3 * 128  # only the missing shards were produced
    for i in range(8):
        name = f"shard-{i:05d}.safetensors"
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    shards = ShardSet(tmp_path / "cut")
    assert shards.total == 1000 and shards.rows[-1] == 1000 - 7 * 128
    expected = np.concatenate([numbered(i * 128, min(1000, (i + 1) * 128)) for i in range(8)])
    assert torch.equal(shards.rows_of(np.array([999, 0, 300])), torch.as_tensor(expected[[999, 0, 300]]))

    with pytest.raises(StoreError, match="other settings"):
        write_shards(tmp_path / "cut", 1000, D, numbered, shard_size=64, dtype="float32")

    (tmp_path / "cut" / "shard-00005.safetensors").unlink()  # a shard lost in the middle: rewritten from there on
    again = write_shards(tmp_path / "cut", 1000, D, numbered, shard_size=128, dtype="float32")
    assert again.written == 3 and ShardSet(tmp_path / "cut").files == [tmp_path / "cut" / f"shard-{i:05d}.safetensors" for i in range(8)]
    assert (tmp_path / "cut" / "shard-00005.safetensors").read_bytes() == (tmp_path / "whole" / "shard-00005.safetensors").read_bytes()


def test_hostile_or_broken_shard_sets_get_one_sentence(tmp_path):
    write_shards(tmp_path / "s", 300, D, numbered, shard_size=100, dtype="float16")
    index = json.loads((tmp_path / "s" / INDEX).read_text())

    def with_index(change) -> str:
        (tmp_path / "s" / INDEX).write_text(json.dumps(change(json.loads(json.dumps(index)))))
        with pytest.raises(StoreError) as caught:
            ShardSet(tmp_path / "s")
        return str(caught.value)

    assert "outside its folder" in with_index(lambda i: {**i, "shards": [{"file": "../../etc/x.safetensors", "rows": 300}]})
    assert "agree" in with_index(lambda i: {**i, "total": 301})
    assert "not an activation shard index" in with_index(lambda i: {**i, "format": "other"})
    assert "dtype" in with_index(lambda i: {**i, "dtype": "int8"})
    (tmp_path / "s" / INDEX).write_text(json.dumps(index))
    shard = tmp_path / "s" / "shard-00001.safetensors"
    shard.write_bytes(shard.read_bytes()[:50])  # truncated on disk
    with pytest.raises(StoreError, match="cannot be read"):
        ShardSet(tmp_path / "s")


def test_streaming_visits_every_row_once_an_epoch_and_ranks_read_disjoint_shards(tmp_path):
    shards = ShardSet(write_shards(tmp_path / "s", 1024, D, numbered, shard_size=128, dtype="float32").folder)
    stream = stream_batches(shards, 64, seed=1, buffer_shards=3)
    first_epoch = torch.cat([next(stream) for _ in range(1024 // 64)])
    ids = first_epoch[:, 0].long()
    assert sorted(ids.tolist()) == list(range(1024))
    assert not torch.equal(ids, torch.arange(1024))  # shuffled, not in file order
    per_rank = []
    for rank in range(2):
        batches = stream_batches(shards, 32, seed=1, rank=rank, world_size=2)
        per_rank.append(set(torch.cat([next(batches) for _ in range(512 // 32)])[:, 0].long().tolist()))
    assert len(per_rank[0]) == len(per_rank[1]) == 512 and not per_rank[0] & per_rank[1]


def test_an_sae_trains_from_shards_as_from_memory(tmp_path):
    rng = np.random.default_rng(0)
    truth = rng.standard_normal((16, D))
    truth /= np.linalg.norm(truth, axis=1, keepdims=True)

    def sparse(start, stop):
        local = np.random.default_rng(start)
        return (((local.random((stop - start, 16)) < 0.1) * local.random((stop - start, 16))) @ truth).astype(np.float32)

    shards = ShardSet(write_shards(tmp_path / "s", 4096, D, sparse, shard_size=512).folder)
    torch.manual_seed(0)
    sae = build_sae("topk", {"d_in": D, "width": 32, "k": 3}).fit_input(shards.fit_sample(2048))
    held_out = sparse(10**6, 10**6 + 1000)
    before = explain.reconstruction_metrics(sae, held_out)["explained_variance"]
    result = explain.train_sae(sae, StreamedActivations(shards, seed=0), explain.SAETrainConfig(epochs=3, batch_size=128, lr=3e-3, dead_window=50), device="cpu")
    assert result.steps == 3 * 4096 // 128
    assert explain.reconstruction_metrics(sae, held_out)["explained_variance"] > max(before, 0.5)


def test_minilm_corpus_collects_into_shards_row_by_token(tmp_path, capsys):
    from interp_core.cli.main import main
    from interp_core.families.sae import data as sources
    from interp_core.families.sae.collect import WINDOW, collect_minilm_corpus, corpus_windows
    from interp_core.families.sae.hosts import MiniLMTopics

    report = collect_minilm_corpus(tmp_path, 10 * WINDOW, layer=2, shard_size=150)  # shards cut across windows
    shards = ShardSet(report.folder)
    assert (shards.total, len(shards), shards.d, shards.meta["layer"]) == (620, 5, 384, 2)
    windows = corpus_windows(620)
    assert windows.shape == (10, 64) and (windows[:, 0] == sources.CLS).all() and (windows[:, -1] == sources.SEP).all()
    with torch.no_grad():
        direct = MiniLMTopics(sources.load_minilm(), 2, 1).eval().activations(torch.as_tensor(windows, dtype=torch.float32))
    rows = [0, 61, 62, 149, 150, 619]
    assert torch.allclose(shards.rows_of(np.array(rows)), direct[rows].half().float())
    assert main(["collect-acts", "minilm-corpus", "--tokens", "620", "--layer", "2", "--store", str(tmp_path), "--name", report.folder.name, "--json"]) == 2
    assert "other settings (shard_size)" in capsys.readouterr().err  # the same name with other settings is refused, not mixed


def test_explain_sae_trains_from_a_shard_folder_and_holds_the_last_shard_out(tmp_path, capsys):
    from interp_core.cli.main import main

    folder = write_shards(tmp_path / "acts", 2000, D, numbered, shard_size=512).folder
    assert main(["explain", "sae", "--data", str(folder), "--device", "cpu", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (result["n_train"], result["n_test"], result["shards"], result["n_features"]) == (3 * 512, 2000 - 3 * 512, 4, 4 * D)
    assert 0 < result["l0"] <= result["k"] and result["peak_rss_mb"] > 0
    one = write_shards(tmp_path / "one", 100, D, numbered, shard_size=512).folder
    assert main(["explain", "sae", "--data", str(one), "--device", "cpu"]) == 2
    assert "expected at least 2" in capsys.readouterr().err


def test_features_top_examples_stream_from_the_shards_as_from_memory(tmp_path):
    from interp_core import recipes
    from interp_core.families.sae.shards import feature_statistics
    from interp_core.families.sae.train import shard_recipe
    from interp_core.store import Catalog, Store

    folder = write_shards(tmp_path / "Acts-L3", 2000, D, numbered, shard_size=300).folder  # 7 shards, batches of 128 cut across them
    shards = ShardSet(folder)
    torch.manual_seed(0)
    sae = build_sae("topk", {"d_in": D, "width": 24, "k": 3}).fit_input(shards.fit_sample())
    stats = feature_statistics(sae.encode, shards, n_top=5, batch_size=128)
    with torch.no_grad():
        dense = sae.encode(torch.cat([shards.read(i) for i in range(len(shards))])).numpy()  # the in-memory answer
    assert stats.n == 2000 and np.array_equal(stats.counts, (dense > 0).sum(0))
    assert np.allclose(stats.maxima, dense.max(0)) and np.allclose(stats.sums, dense.sum(0), rtol=1e-5)
    for j in range(24):
        ids, values = explain.top_examples(dense[:, j], 5)
        assert list(stats.top_ids[j]) == [*ids, *[-1] * (5 - len(ids))], j
        assert np.allclose(stats.top_values[j][: len(ids)], values)
    assert (stats.top_ids == -1).any() or (stats.counts >= 5).all()

    # train --data FOLDER stores the SAE; loaded back, the page's top examples are the streamed ones,
    # read from the shards (numbered rows say which row each shown example is)
    trained = recipes.train(shard_recipe(folder), store=Store(tmp_path / "store"), device="cpu", umap=False)
    assert trained.name == "acts-l3-sae"  # an artifact name is a lower-case slug, whatever the folder's case
    loaded = recipes.load(trained.name, Catalog(Store(tmp_path / "store")), "cpu")
    analysis, sae = loaded.extras["analysis"], loaded.extras["sae"]
    assert loaded.extras["source_kind"] == "user" and loaded.manifest["source"]["kind"] == "shards"
    stored = feature_statistics(sae.encode, shards)
    shown_rows = np.concatenate([loaded.dataset.X_train, loaded.dataset.X_test])[:, 0].astype(np.int64)
    assert analysis.codes.n == len(shown_rows) < 2000  # only the top examples, not every row
    assert np.allclose(analysis.features["density"], stored.counts / 2000)
    live = np.flatnonzero(stored.counts)
    assert len(live) > 4 * D // 2
    for j in live:
        ids, values = explain.top_examples(analysis.codes.column(int(j)))
        expected = stored.top_ids[j][stored.top_ids[j] >= 0]
        assert len(ids) == len(expected) and np.allclose(values, stored.top_values[j][: len(ids)], rtol=1e-3), j  # stored codes are float16
        exact = values != values[-1]  # all but ties with the last one (float16 codes can tie where float32 ones do not)
        assert set(shown_rows[ids[exact]]) <= set(expected) and len(set(shown_rows[ids]) & set(expected)) >= len(ids) - (~exact).sum(), j
