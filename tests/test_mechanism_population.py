"""Populations of group networks (issue 21): ``sweep groups`` on a tiny group, the stored artifact and
its reopened members, BatchNorm / dropout folded into the analysed parts, the corrupted-label history,
and the verdict logic of Doshi et al.'s claims on hand-made runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_core import cli
from interp_core.families.mechanisms import explain
from interp_core.families.mechanisms import population as pop
from interp_core.families.mechanisms.data import get_group, pairs_dataset
from interp_core.families.mechanisms.models import GroupMLP
from interp_core.families.mechanisms.train import DEFAULT_TRAIN, fit_full_batch
from interp_core.store import Store

CONTRACT = {"group", "n_models", "share_bound_ge_95", "median_bound", "bound_time_ratio", "bound_flops_ratio"}


@pytest.fixture(scope="module")
def z5_sweep(tmp_path_factory):
    """``sweep groups Z5 --seeds 3`` once for the module: (its JSON, its store)."""
    root = tmp_path_factory.mktemp("sweep") / "store"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["sweep", "groups", "Z5", "--seeds", "3", "--steps", "40", "--hidden", "16", "--train-fraction", "0.6",
                         "--store", str(root), "--json"])
    assert code == 0
    return json.loads(out.getvalue().strip().splitlines()[-1]), Store(root)


def test_sweep_prints_the_contract_keys_and_its_summary_matches_the_models(z5_sweep):
    result, _ = z5_sweep
    assert CONTRACT <= set(result)
    assert result["group"] == "Z5" and result["n_models"] == 3 and result["claims"] is None
    models = result["models"]
    assert [m["seed"] for m in models] == [0, 1, 2]
    bounds = [m["bound"] for m in models]
    assert result["share_bound_ge_95"] == pytest.approx(np.mean([b >= 0.95 for b in bounds]))
    assert result["median_bound"] == pytest.approx(np.median(bounds))
    assert result["bound_flops_ratio"] == pytest.approx(np.median([m["bound_flops_ratio"] for m in models]))
    for m in models:
        assert 0 <= m["bound"] <= m["brute_force_accuracy"] <= 1  # a proof never claims more than is true
        # the bound that compresses the hidden layer too (Z_n), beside it
        assert 0 <= m["compressed_bound"] <= m["brute_force_accuracy"] and m["compressed_bound_bins"] in (4, 5)
        assert m["compressed_bound_flops_ratio"] > 0 and m["compressed_bound_time_ratio"] > 0


def test_the_population_is_one_artifact_and_a_member_reopens_with_its_numbers(z5_sweep):
    _, store = z5_sweep
    artifact = store.open("population-z5")
    assert artifact.manifest["kind"] == "population" and artifact.manifest["group"] == "Z5"
    stored = pop.read_population(artifact, store)
    assert len(stored["rows"]) == len(stored["histories"]) == 3
    assert stored["histories"][0]["step"][-1] == 40
    group = get_group("Z5")
    for row in stored["rows"]:
        parts = pop.member_model(artifact, store, row).parts()
        accuracy, _, _ = explain.brute_force(parts, group)
        assert accuracy == pytest.approx(row["brute_force_accuracy"])
        # the row's numbers were computed on the stored (float16) weights: the proof reproduces exactly
        dataset = pairs_dataset("Z5", row["train_fraction"], 0.0, row["seed"])
        report, _, _ = explain.analyse(parts, "Z5", {"train_index": dataset.extras["train_index"], "test_index": dataset.extras["test_index"], "train_labels": dataset.y_train})
        assert report.bound["accuracy"] == row["bound"] and report.test_accuracy == row["test_accuracy"]
    assert store.read_tensors(artifact, pop.MEMBERS_FILE)["0.unembed.weight"].dtype == torch.float16
    # different seeds train different networks
    first, second = (pop.member_model(artifact, store, row).unembed.weight for row in stored["rows"][:2])
    assert not torch.equal(first, second)


@pytest.mark.parametrize("argv, needle", [
    (["--train-fraction", "1.5"], "--train-fraction 1.5 is out of range"),
    (["--hidden", "wide"], "--hidden 'wide' is not"),
    (["--batchnorm", "maybe"], "--batchnorm 'maybe'"),
    (["--corrupt", "1"], "--corrupt 1 is out of range"),
])
def test_sweep_refuses_bad_options_in_one_sentence(tmp_path, capsys, argv, needle):
    assert cli.main(["sweep", "groups", "Z5", "--seeds", "1", "--steps", "1", "--store", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "population-z5").exists()


def test_sweep_refuses_an_unknown_group(tmp_path, capsys):
    assert cli.main(["sweep", "groups", "Q8", "--seeds", "1", "--steps", "1", "--store", str(tmp_path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_batchnorm_and_dropout_fold_into_the_parts_the_analysis_reads():
    dataset = pairs_dataset("Z7", 0.6, corrupt_fraction=0.2, seed=1)
    model = GroupMLP(7, hidden=16, embed_dim=8, dropout=0.3, batchnorm=True)
    history = fit_full_batch(model, dataset, {**DEFAULT_TRAIN, "steps": 30, "eval_every": 10}, torch.device("cpu"), 0)
    assert model.norm.running_var.sum() != 16  # the running statistics moved away from their start
    x = torch.as_tensor(dataset.X_test)
    parts = model.parts()
    with torch.no_grad():
        expected = model(x).double().numpy()
    pairs = dataset.X_test.astype(int)
    assert np.allclose(parts.logits(pairs[:, 0], pairs[:, 1]), expected, atol=1e-4)
    # the corrupted-label curves: the last logged share equals the final network's
    corrupted = dataset.extras["corrupted"]
    with torch.no_grad():
        answers = model(torch.as_tensor(dataset.X_train)).argmax(1).numpy()
    assert history["corrupted_memorised"][-1] == pytest.approx((answers == dataset.y_train)[corrupted].mean())
    assert history["clean_train_accuracy"][-1] == pytest.approx((answers == dataset.y_train)[~corrupted].mean())


def test_a_corrupted_sweep_records_the_pruning_and_gives_four_claims():
    settings = pop.grid([16], [0.0, 1.0], [0.6], [0.2])
    result = pop.sweep("Z5", 1, settings, 20)
    assert [c["claim"][:4] for c in result["claims"]] == ["(i) ", "(ii)", "(iii", "(iv)"]
    for row in result["rows"]:
        assert row["corrupted_pairs"] == 3  # 20% of the 15 training pairs
        assert row["corrupted_memorised"] == pytest.approx(result["histories"][row["index"]]["corrupted_memorised"][-1])
    assert all(c["verdict"] in {"holds", "does not hold", "depends", "not tested"} for c in result["claims"])


# -- the verdicts on hand-made runs ---------------------------------------------------------------

def run(wd=0.0, corrupt=0.1, memorised=1.0, test=1.0, clean=1.0, pruned=None, neurons=3, dropout=0.0, batchnorm=False):
    """One hand-made corrupted-label run: the numbers member_metrics keeps."""
    after_memorised, after_true, after_clean = pruned or (memorised, 1 - memorised, clean)
    return {"corrupt": corrupt, "weight_decay": wd, "dropout": dropout, "batchnorm": batchnorm, "corrupted_pairs": 10,
            "corrupted_memorised": memorised, "test_accuracy": test, "clean_train_accuracy": clean, "train_accuracy": (1 - corrupt) * clean + corrupt * memorised,
            "memorising_neurons": neurons, "corrupted_memorised_pruned": after_memorised, "corrupted_true": 1 - memorised,
            "corrupted_true_pruned": after_true, "clean_train_accuracy_pruned": after_clean}


def verdicts(runs, histories=None) -> dict:
    return {c["claim"][:c["claim"].index(")") + 1]: c for c in pop.claims(runs, histories)}


def test_claim_one_holds_depends_or_fails_with_the_runs():
    assert verdicts([run(), run(wd=1.0)])["(i)"]["verdict"] == "holds"
    mixed = verdicts([run(), run(wd=1.0, memorised=0.0)])["(i)"]
    assert mixed["verdict"] == "depends" and "weight decay 0" in mixed["measured"] and "1 of 2 runs" in mixed["measured"]
    assert verdicts([run(test=0.8)])["(i)"]["verdict"] == "does not hold"  # memorised but did not generalise


def test_claim_two_needs_the_memory_to_fall_and_the_true_answers_to_rise():
    works = run(pruned=(0.2, 0.7, 1.0))
    assert verdicts([works])["(ii)"]["verdict"] == "holds"
    nothing = run(pruned=(1.0, 0.0, 1.0))  # the z59-noisy-mlp case: pruning changes nothing
    assert verdicts([nothing])["(ii)"]["verdict"] == "does not hold"
    hurts_clean = run(pruned=(0.2, 0.7, 0.9))
    assert verdicts([hurts_clean])["(ii)"]["verdict"] == "does not hold"
    assert verdicts([run(memorised=0.1)])["(ii)"]["verdict"] == "not tested"  # nothing memorised to prune
    assert verdicts([run(neurons=0)])["(ii)"]["verdict"] == "not tested"


def test_claim_three_reads_only_regularised_runs_and_names_where_it_holds():
    ignores = run(wd=5.0, memorised=0.0)
    keeps = run(wd=1.0, memorised=1.0)
    unregularised = run(wd=0.0, memorised=1.0)
    assert verdicts([ignores, unregularised])["(iii)"]["verdict"] == "holds"
    depends = verdicts([ignores, keeps])["(iii)"]
    assert depends["verdict"] == "depends" and "holds at ξ=0.1, weight decay 5" in depends["measured"]
    assert verdicts([keeps])["(iii)"]["verdict"] == "does not hold"
    seeds_differ = verdicts([ignores, run(wd=5.0, memorised=1.0)])["(iii)"]  # one setting, two seeds, one ignores
    assert seeds_differ["verdict"] == "depends" and "holds in some seeds (not all) at ξ=0.1, weight decay 5" in seeds_differ["measured"]
    assert verdicts([unregularised])["(iii)"]["verdict"] == "not tested"
    assert verdicts([run(dropout=0.5, memorised=0.05)])["(iii)"]["verdict"] == "holds"  # dropout counts as regularisation
    assert verdicts([run(wd=5.0, memorised=0.0, clean=0.9)])["(iii)"]["verdict"] == "does not hold"  # lost the clean pairs too


def test_two_phase_is_grokking_while_memorised_then_forgetting():
    grok_then_unlearn = {"step": [0, 1, 2, 3], "test_accuracy": [0.1, 0.5, 1.0, 1.0], "corrupted_memorised": [0.0, 1.0, 1.0, 0.05]}
    never_unlearns = {**grok_then_unlearn, "corrupted_memorised": [0.0, 1.0, 1.0, 0.9]}
    ignores_from_start = {**grok_then_unlearn, "corrupted_memorised": [0.0, 0.0, 0.0, 0.0]}
    assert pop.two_phase(grok_then_unlearn)
    assert not pop.two_phase(never_unlearns) and not pop.two_phase(ignores_from_start)
    assert not pop.two_phase({"step": [0], "test_accuracy": [1.0]})  # no corrupted labels logged
    runs = [run(wd=1.0, memorised=0.0), run(wd=5.0, memorised=0.0)]
    assert verdicts(runs, [grok_then_unlearn, never_unlearns])["(iv)"]["verdict"] == "depends"
    assert verdicts(runs, [grok_then_unlearn, grok_then_unlearn])["(iv)"]["verdict"] == "holds"


def test_summary_share_is_over_models_with_a_bound():
    rows = [{"bound": b, "bound_time_ratio": t, "bound_flops_ratio": 0.5, "brute_force_accuracy": 1.0, "test_accuracy": 1.0}
            for b, t in ((0.99, 2.0), (0.96, 1.0), (0.5, 3.0), (0.949, 4.0))]
    summary = pop.summarise("Z5", rows)
    assert summary["share_bound_ge_95"] == 0.5 and summary["bound_time_ratio"] == 2.5 and summary["median_bound"] == pytest.approx(0.9545)


def test_the_population_names_the_command_that_made_it(z5_sweep):
    from interp_core.cli.main import build_parser
    from interp_core.families.mechanisms.sections import sweep_command

    _, store = z5_sweep
    stored = pop.read_population(store.open("population-z5"), store)
    line = sweep_command(stored)
    args = build_parser().parse_args(line.split()[3:])
    assert (args.kind, args.group, args.seeds, args.steps) == ("groups", "Z5", 3, 40)
    assert (args.hidden, args.train_fraction) == ("16", "0.6")
    assert "--weight-decay" not in line  # the default is not repeated


def test_a_member_is_timed_best_of_several_runs(z5_sweep):
    _, store = z5_sweep
    for row in pop.read_population(store.open("population-z5"), store)["rows"]:
        assert row["timing_repeats"] == pop.TIMING_REPEATS
        assert row["bound_time_ratio"] == pytest.approx(row["bound_seconds"] / row["brute_force_seconds"])


def test_the_shipped_populations_open_reproduce_and_stay_small():
    shipped = Store(pop.SHIPPED_POPULATIONS, readonly=True)
    names = shipped.names()
    assert names and all(n.startswith(pop.PREFIX) for n in names)
    for name in names:
        artifact = shipped.open(name)  # checks every file's sha256
        assert sum(entry["bytes"] for entry in artifact.manifest["files"].values()) < 500_000, name
        stored = pop.read_population(artifact, shipped)
        assert stored["summary"]["n_models"] == len(stored["rows"]) == len(stored["histories"])
        row = stored["rows"][0]
        parts = pop.member_model(artifact, shipped, row).parts()
        assert explain.brute_force(parts, get_group(artifact.manifest["group"]))[0] == pytest.approx(row["brute_force_accuracy"])


def test_the_page_opens_on_a_population_of_the_same_group_else_of_the_same_kind():
    from interp_core.families.mechanisms.sections import default_population

    groups = {"population-d12": "D12", "population-z59": "Z59", "population-s4": "S4"}
    names = list(groups)
    assert default_population(names, groups, "S4") == "population-s4"
    assert default_population(names, groups, "Z113") == "population-z59"  # cyclic, though not Z113 itself
    assert default_population(names, groups, "D8") == "population-d12"
    assert default_population(["population-d12"], {"population-d12": "D12"}, "Z113") == "population-d12"
    assert default_population([], {}, "Z5") is None
    # a network trained on corrupted labels opens on a corrupted population (section 9's claims), a clean one on a clean one
    groups["population-z31-noisy"] = "Z31"
    names, noisy = list(groups), frozenset({"population-z31-noisy"})
    assert default_population(names, groups, "Z59", corrupted=True, noisy=noisy) == "population-z31-noisy"
    assert default_population(names, groups, "Z59", corrupted=False, noisy=noisy) == "population-z59"
    assert default_population(["population-s4"], {"population-s4": "S4"}, "Z59", corrupted=True, noisy=noisy) == "population-s4"
