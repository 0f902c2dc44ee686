"""The Mechanisms page's views as report sections, one builder per page block: the page draws them
with its settings (the chosen side, neuron, pair, pruning threshold), the HTML report
(``python -m interp_core report``) and Compare draw them at the page's defaults through ``sections``.

Each builder is pure: it takes a loaded ``Mechanism`` (mechanism.py) and the user's settings and
returns a ``Section``; texts are Markdown, as the page shows them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from interp_core.families.mechanisms import explain, population
from interp_core.families.mechanisms import figures as figs
from interp_core.families.mechanisms.data import get_group
from interp_core.families.mechanisms.mechanism import Mechanism, load_mechanism
from interp_core.report import Figure, Metric, Metrics, Section, Table, Text, Verdict
from interp_core.sections import artifact_store as _store
from interp_core.store import Catalog

HEADLINE = "Headline numbers"
TRAINING = "1. Training: memorise, then generalise"
SPECTRUM = "2. Which irreducible representations the network uses"
NEURONS = "3. Neurons"
PAIR = "4. One pair: which irreps produce the answer"
EQUIVARIANCE = "5. Equivariance: the symmetry the algorithm relies on"
VERIFICATION = "6. Verification: brute force vs explanation vs proof"
MEMORISATION = "7. Corrupted labels and memorising neurons"
POPULATION = "8. Many networks: how often does the explanation prove ≥ 95%?"
CLAIMS = "9. Corrupted labels across settings: the paper's claims"


def default_neuron(mech: Mechanism) -> int:
    """The neuron the page opens on: the one with the largest output weight."""
    return int(np.argmax(mech.arrays["neuron_importance"]))


def default_pair(mech: Mechanism) -> tuple[int, int]:
    order = mech.group.order
    return 1 % order, 2 % order


def unproved_reason(mech: Mechanism) -> str | None:
    """Why the headline bound proves no pair (z59-noisy-mlp: the memorised labels), or None when it proves some."""
    bound = mech.report.get("bound")
    if not bound or bound["certified"] > 0:
        return None
    first = next((f for f in mech.report.get("bound_frontier", []) if f["accuracy"] > 0), None)
    text = ("No pair is proved at less than brute force's cost: "
            + ("the memorised wrong labels live in weights outside the key irreps, which makes " if mech.corrupted else "")
            + "the output weights outside the key irreps too large for the bound's worst case")
    if first is None:
        return text + ", even with every direction computed exactly."
    return (text + f". It first proves pairs with {first['unexplained_rank']} unexplained directions computed exactly: "
            f"{first['accuracy']:.1%} of all pairs, at {first['cost_ratio']:.2f}× brute force's FLOPs (the frontier chart).")


def headline_section(mech: Mechanism) -> Section:
    """What was trained, the six headline numbers and what they say in one paragraph."""
    report, group, order = mech.report, mech.group, mech.group.order
    dataset, manifest = mech.model.manifest["dataset"], mech.model.manifest
    bound = report.get("bound")
    intro = (
        f"**{group.title}** · trained on {dataset['train_fraction']:.0%} of the {order * order:,} pairs"
        + (f", **{dataset['corrupt_fraction']:.0%} of them with a wrong label**" if dataset.get("corrupt_fraction") else "")
        + f" · {mech.parts.n_neurons} hidden neurons · trained on {manifest.get('device_name')} in {manifest.get('train_seconds', 0):.0f} s ({mech.model.status})"
    )
    numbers = Metrics([
        Metric("Train accuracy", f"{report['train_accuracy']:.1%}", "On the training pairs, against the labels it was trained on (wrong ones included)."),
        Metric("Held-out accuracy", f"{report['test_accuracy']:.1%}", "On the pairs it never saw."),
        Metric("Brute force", f"{report['brute_force_accuracy']:.1%}", "On all |G|² pairs against the true product."),
        Metric("Key irreps only", f"{report['explained_accuracy']:.1%}", "All pairs, with every irrep outside the key ones removed from the network's weights."),
        Metric("Proved bound", "not computed" if bound is None else "no pair" if unproved_reason(mech) else f"≥ {bound['accuracy']:.1%}",
               unproved_reason(mech) or "A lower bound on brute-force accuracy derived from the explanation (see Verification)."),
        Metric("Key irreps", f"{len(mech.key_irreps)}", ", ".join(report["key_irreps"])),
    ])
    summary = Text(
        f"The network's weights lie mostly in **{', '.join(report['key_irreps'])}** ({report['key_share']:.0%} of their non-constant part). "
        f"Keeping only those, it still answers **{report['explained_accuracy']:.1%}** of all pairs correctly (the full network: "
        f"{report['brute_force_accuracy']:.1%}); removing them instead leaves **{report['without_key_accuracy']:.1%}** "
        f"(chance is {1 / order:.1%})."
    )
    return Section(HEADLINE, [numbers, summary], intro=intro)


def training_section(mech: Mechanism) -> Section:
    metrics = mech.model.metrics
    memorised, grokked = metrics.get("memorise_step"), metrics.get("grok_step")
    items = [Figure(figs.training_curves(mech.history, memorised, grokked), "group_training")]
    if grokked is not None and memorised is not None:
        items.append(Text(f"Training pairs were fitted (≥ 99%) by step {memorised}; held-out pairs reached 99% at step {grokked}: "
                          f"a delay of {grokked - memorised} steps. Weight decay keeps shrinking the weights until the general solution is cheaper than memorising."))
    elif grokked is None:
        items.append(Text("Held-out accuracy never reached 99% during training: this network has not fully generalised."))
    return Section(TRAINING, items)


def spectrum_section(mech: Mechanism, side: str, irreps: pd.DataFrame) -> Section:
    """The embedding of the ``side`` ("left"/"right") element on the irreps, the irreps with their
    checks (``irreps``: explain.irrep_table of the group) and the neuron clusters."""
    energy = mech.arrays["element_energy_left" if side == "left" else "element_energy_right"]
    items = [
        Figure(figs.embedding_spectrum(energy, mech.element_names, mech.irrep_names, mech.key_irreps, side), "embedding_spectrum"),
        Table(
            f"The {len(mech.irrep_names)} irreducible representations of {mech.group.name}, computed here and checked", irreps,
            "Each irrep is built from matrices for the group's generators and extended to every element through the multiplication table "
            "(Young's orthogonal form for S_n). Checks: ρ(ab) = ρ(a)ρ(b) for every pair, orthogonal matrices, characters orthonormal "
            "(⟨χ, χ⟩ = 1; 2 for the real form of a complex pair, as Z_n's frequencies), and the basis functions add up to |G|.",
        ),
    ]
    clusters = pd.DataFrame(mech.report["clusters"])
    if not clusters.empty:
        share = pd.to_numeric(clusters["mean share in own irrep"], errors="coerce")
        clusters["mean share in own irrep"] = ["—" if v != v else f"{v:.1%}" for v in share]  # dead neurons have none: "—", not None
        items.append(Table("Neuron clusters", clusters, "Each live neuron is assigned to the irrep holding most of its weight."))
    return Section(SPECTRUM, items)


def neurons_section(mech: Mechanism, neuron: int, pair: tuple[int, int]) -> Section:
    """The neuron × irrep map with ``neuron`` ringed, what that neuron reads, and its activation
    over every pair with ``pair`` outlined."""
    arrays, m = mech.arrays, mech.parts.n_neurons
    dom = int(arrays["dominant"][neuron])
    dom_name = mech.irrep_names[dom] if dom >= 0 else "dead"
    rank = int((arrays["neuron_importance"] > arrays["neuron_importance"][neuron]).sum()) + 1
    about = Text(
        f"**Neuron {neuron}**  \n"
        f"mostly **{dom_name}** ({arrays['neuron_share'][neuron, max(dom, 0)]:.0%} of its weight)  \n"
        f"share in key irreps: **{arrays['key_concentration'][neuron]:.0%}**  \n"
        f"output weight rank: **{rank}** of {m}"
    )
    activation = figs.neuron_activation(explain.neuron_table(mech.parts, neuron), mech.element_names, neuron, dom_name, pair, mech.product_names)
    return Section(NEURONS, [
        Figure(figs.neuron_irrep_map(arrays["neuron_share"], arrays["dominant"], mech.irrep_names, mech.key_irreps, neuron), "neuron_irrep_map"),
        about,
        Figure(activation, "neuron_activation"),
    ])


def pair_section(mech: Mechanism, x: int, y: int) -> Section:
    """Pair (x, y): whether the network is right, and which irreps produce its answer."""
    group, names, order = mech.group, mech.element_names, mech.group.order
    contributions = explain.pair_contributions(mech.parts, group.key, x, y)
    truth, predicted, runner = contributions.attrs["truth"], contributions.attrs["predicted"], contributions.attrs["runner_up"]
    in_train = bool(np.isin(x * order + y, mech.split["train_index"]))
    verdict = "right" if predicted == truth else f"**wrong** (it answers {names[predicted]})"
    about = Text(
        f"**{group.describe(x, y)}** — a {'training' if in_train else 'held-out'} pair.  \n"
        f"The network is {verdict}; margin over the runner-up {names[runner]}: **{contributions.attrs['margin']:+.2f}**."
    )
    logits = mech.parts.logits(np.array([x]), np.array([y]))[0]
    explained = mech.explained.logits(np.array([x]), np.array([y]))[0]
    return Section(PAIR, [
        about,
        Figure(figs.pair_contributions(contributions, f"Why {names[x]}, {names[y]} → {names[truth]}: margin by irrep"), "pair_contributions"),
        Figure(figs.pair_logits(logits, explained, names, truth, f"Logits of every answer for ({names[x]}, {names[y]})"), "pair_logits"),
    ])


def equivariance_section(mech: Mechanism) -> Section:
    eq, arrays = mech.report["equivariance"], mech.arrays
    text = Text(
        "If the network computes x·y, then moving the left input by g must move the answer by g: f(g·x, y) should equal f(x, y) with its answers relabelled by g "
        "(and on the right, f(x, y·g) ~ f(x, y) relabelled). Wu, Jaburi, Drori & Gross (2024) found trained networks are *approximately* equivariant in each argument "
        f"and built their proofs on it. Here: mean relative distance **{eq['left']:.3f}** (left) and **{eq['right']:.3f}** (right), against "
        f"**{(eq['left_unpermuted'] + eq['right_unpermuted']) / 2:.2f}** without relabelling."
    )
    figure = figs.equivariance_chart(arrays["equivariance_left"], arrays["equivariance_right"], arrays["equivariance_left_unpermuted"],
                                     arrays["equivariance_right_unpermuted"], mech.element_names)
    return Section(EQUIVARIANCE, [text, Figure(figure, "equivariance")])


def verification_section(mech: Mechanism) -> Section:
    """Brute force, the explanation and the proof side by side: charts, their cost table, and what
    the bound proves (a Verdict when no bound was computed)."""
    report = mech.report
    bound = report.get("bound")
    items = [Figure(figs.verification_chart(report), "verification")]
    if report.get("bound_frontier"):
        items.append(Figure(figs.bound_frontier_chart(report["bound_frontier"], report["brute_force_accuracy"], bound.get("unexplained_rank") if bound else None), "bound_frontier"))
    flops = bound["brute_force_flops"] if bound else None
    rows = [
        {"check": "brute force: the network on all pairs", "accuracy": report["brute_force_accuracy"], "what it says": "the truth for this network",
         "cost (FLOPs)": flops, "time (ms)": 1000 * bound["brute_force_seconds"] if bound else None},
        {"check": "key irreps only (rest ablated)", "accuracy": report["explained_accuracy"], "what it says": "sufficient if close to brute force",
         "cost (FLOPs)": flops, "time (ms)": None},
        {"check": "key irreps removed", "accuracy": report["without_key_accuracy"], "what it says": "necessary if near chance",
         "cost (FLOPs)": flops, "time (ms)": None},
    ]
    if bound:
        rows.append({"check": f"proved bound (key irreps + {bound.get('unexplained_rank', 0)} other directions)", "accuracy": bound["accuracy"],
                     "what it says": f"{bound['certified']:,} of {bound['total']:,} pairs proved", "cost (FLOPs)": bound["flops"], "time (ms)": 1000 * bound["seconds"]})
        rows.append({"check": "bound + brute force on unproved pairs", "accuracy": report["brute_force_accuracy"],
                     "what it says": "exact; cheap only if most pairs are proved", "cost (FLOPs)": bound.get("exact_flops"), "time (ms)": None})
    items.append(Table("Checks and their cost", pd.DataFrame(rows)))
    if bound:
        reason = unproved_reason(mech)
        items.append(Text(
            (f"**Why the bound is 0% here.** {reason}  \n" if reason else "")
            + f"**What the bound proves.** {bound['proves']}  \n**What it does not prove.** {bound['does_not_prove']}  \n"
            f"It costs **{bound['cost_ratio']:.0%}** of brute force in arithmetic (FLOPs; on this numpy implementation the measured time is "
            f"{bound['seconds'] / max(bound['brute_force_seconds'], 1e-9):.1f}× brute force's: both compute every pair's hidden layer, about half of either time, and the output layer's saving is in arithmetic that one large matrix product does fast anyway); a complete certificate (adding brute force on the unproved pairs) costs "
            f"**{bound.get('exact_flops', 0) / max(bound['brute_force_flops'], 1):.0%}**. For comparison, Wu et al. (2024) report proofs at about 30% of brute-force time, "
            "with a ≥ 95% bound for 45% of their models. "
            "Measured times were taken at training time on the machine named above and are indicative only."
        ))
    else:
        items.append(Verdict("moderate", "No bound was computed for this network."))
    return Section(VERIFICATION, items)


def memorisation_section(mech: Mechanism, threshold: float, neurons: list[int], accuracies: pd.DataFrame | None = None) -> Section:
    """Where memorised (corrupted) labels live: the key-irrep share of every neuron with the
    ``threshold`` marked, the ``neurons`` below it, and, when the page has pruned them, the
    accuracies before and after (``accuracies``: explain.pruning_report(...).accuracies)."""
    group, split, arrays = mech.group, mech.split, mech.arrays
    if mech.corrupted:
        n_bad = int((split["train_labels"] != group.table.ravel()[split["train_index"]]).sum())
        intro = Text(
            f"{n_bad} training pairs were given a **wrong answer**. A network can memorise them and still generalise "
            "(\"To grok or not to grok\", Doshi et al. 2024). Where does the memory live? Neurons that memorise single pairs spread their weight "
            "over many irreps, so they are found by how little of their weight lies in the key irreps, and pruned. The other place it can hide is "
            "the small non-key part of every neuron: removing all weights outside the key irreps tests that."
        )
    else:
        intro = Text("This network was trained on clean labels: there is nothing to memorise, and the few neurons left of the threshold carry little output weight. "
                     "The corrupted-label recipe shows memorisation.")
    weight = float(arrays["neuron_importance"][neurons].sum() / max(arrays["neuron_importance"].sum(), 1e-12)) if neurons else 0.0
    listed = f": {', '.join(map(str, neurons[:20]))}{' ...' if len(neurons) > 20 else ''}" if neurons else "."
    items = [
        intro,
        Text(f"**{len(neurons)}** neuron(s) below this threshold, holding {weight:.1%} of the output weight{listed}"),
        Figure(figs.concentration_histogram(arrays["key_concentration"], mech.alive, float(threshold)), "neuron_concentration"),
    ]
    if accuracies is not None:
        scored = accuracies[accuracies["pairs"] > 0]  # no corrupted rows for a clean recipe
        items += [Figure(figs.pruning_chart(scored.drop(columns="pairs")), "pruning"), Table("Accuracy before and after pruning", scored.reset_index())]
        if mech.corrupted:
            wrong, test = accuracies.loc["corrupted training pairs (their wrong label)"], accuracies.loc["test pairs"]
            verdicts = []
            for column, what in (("after", f"Pruning the {len(neurons)} neuron(s)"), ("key irreps only", "Removing every weight outside the key irreps")):
                drop = wrong["before"] - wrong[column]
                effect = "forgets" if drop >= 0.3 else "barely changes" if drop < 0.05 else "partly forgets"
                verdicts.append(f"{what} **{effect}** the wrong labels (memorised {wrong['before']:.0%} → {wrong[column]:.0%}); held-out accuracy {test['before']:.1%} → {test[column]:.1%}.")
            items.append(Text("  \n".join(verdicts)))
    return Section(MEMORISATION, items)


def _ratio(value) -> str:
    return "—" if value is None else f"{value:.2f}×"


def sweep_command(stored: dict) -> str:
    """The ``sweep groups`` command line that made a stored population (its grid written back as options)."""
    settings, grid = stored["settings"], stored["settings"]["grid"]
    options = {"hidden": "--hidden", "weight_decay": "--weight-decay", "train_fraction": "--train-fraction", "corrupt": "--corrupt", "dropout": "--dropout", "batchnorm": "--batchnorm"}
    words = [f"python -m interp_core sweep groups {settings['group']} --seeds {settings['seeds']} --steps {settings['steps']}"]
    if settings.get("final_lr_fraction", 1.0) != 1.0:
        words.append(f"--final-lr-fraction {settings['final_lr_fraction']:g}")
    for key, option in options.items():
        values = list(dict.fromkeys(g[key] for g in grid))
        if values != [population.grid([128], [1.0], [0.5])[0][key]]:
            words.append(option + " " + ",".join(("yes" if v else "no") if isinstance(v, bool) else f"{v:g}" for v in values))
    return " ".join(words)


def population_section(name: str, stored: dict, selected: int | None = None) -> Section:
    """Wu et al.'s question on a stored population (population.read_population): the share of
    networks with a proved bound ≥ 95%, the bound's distribution, the proof's cost against brute
    force; each network is a clickable point (``selected`` is ringed)."""
    summary, rows, settings = stored["summary"], stored["rows"], stored["settings"]
    grid = settings["grid"]
    varied = [k for k in population.SETTINGS if len({str(g[k]) for g in grid}) > 1]
    share = summary["share_bound_ge_95"]
    intro = (f"**{name}**: {summary['n_models']} networks on {get_group(summary['group']).title}, {settings['seeds']} seed(s) per setting, "
             f"{settings['steps']:,} full-batch steps each" + (f"; varied: {', '.join(k.replace('_', ' ') for k in varied)}" if varied else "")
             + ". Made with `" + sweep_command(stored) + "`.")
    numbers = Metrics([
        Metric("Networks", f"{summary['n_models']}", "Trained with different seeds (and settings), each analysed as a recipe's checkpoint is."),
        # the share as the value, what it counts in the label: "62% of them" wrapped onto two lines at 1024 px
        Metric("Networks proved ≥ 95%", "—" if share is None else f"{share:.0%}", "Share of the networks whose proved bound is at least 95%. Wu et al. (2024): 45% of their models."),
        Metric("Median proved bound", "—" if summary["median_bound"] is None else f"{summary['median_bound']:.1%}", "The median over networks of the share of all pairs proved correct."),
        Metric("Networks held-out ≥ 99%", "—" if summary.get("share_generalised") is None else f"{summary['share_generalised']:.0%}", "Share of the networks that generalised (grokked): held-out accuracy at least 99%."),
        Metric("Bound ÷ brute force, time", _ratio(summary["bound_time_ratio"]), "Median measured time of the proof over brute force's (Wu et al.: about 0.3)."),
        Metric("Bound ÷ brute force, FLOPs", _ratio(summary["bound_flops_ratio"]), "Median arithmetic cost of the proof over brute force's."),
    ])
    table = pd.DataFrame([{
        "model": r["index"], "seed": r["seed"], **{k.replace("_", " "): r[k] for k in varied},
        "held-out": r["test_accuracy"], "brute force": r["brute_force_accuracy"], "proved bound": r["bound"],
        "key irreps": ", ".join(r["key_irreps"]), "time ÷ brute force": r["bound_time_ratio"], "FLOPs ÷ brute force": r["bound_flops_ratio"],
    } for r in rows])
    compressed = [r.get("compressed_bound") for r in rows]
    if any(c is not None for c in compressed):  # Z_n populations: the bound that also compresses the hidden layer, beside it
        table.insert(table.columns.get_loc("proved bound") + 1, "compressed bound", compressed)
    slow = summary["bound_time_ratio"] is not None and summary["bound_time_ratio"] >= 1 > (summary["bound_flops_ratio"] or 1)
    items = [Text(intro), numbers,
             Figure(figs.population_bounds(rows, selected), "population_bounds"),
             Figure(figs.population_costs(rows, selected), "population_costs"),
             Table("Every network of the population", table, "Click a point above to open that network in sections 1-7.")]
    if slow:
        items.append(Text("The proof needs fewer FLOPs than brute force but not less time here: both compute every pair's hidden layer (the larger share of "
                          "the time, and memory-bound), and the output layer's saving is taken by several thin products and the per-pair worst case; "
                          "Wu et al. also compress the hidden layer. See docs/mechanisms.md."
                          + (f" A bound that also compresses the hidden layer (column *compressed bound*) proves a median of {np.median([c for c in compressed if c is not None]):.0%} "
                             "here: the worst case of the weights outside each neuron's key frequency outweighs the margins." if any(c is not None for c in compressed) else "")))
    return Section(POPULATION, items)


def default_run(stored: dict) -> int:
    """The corrupted run the two-phase chart opens on: the first that shows grokking then unlearning,
    else the first regularised one, else the first."""
    pairs = list(zip(stored["rows"], stored["histories"]))
    for test in (lambda r, h: population.regularised(r) and population.two_phase(h), lambda r, h: population.regularised(r)):
        found = next((r["index"] for r, h in pairs if test(r, h)), None)
        if found is not None:
            return found
    return stored["rows"][0]["index"]


def claims_section(name: str, stored: dict, run: int) -> Section:
    """Doshi et al.'s four claims on a corrupted-label population: the two-phase curve of run ``run``,
    the pruning result per network and the per-claim table with its verdicts."""
    rows = {r["index"]: r for r in stored["rows"]}
    row, history = rows[run], stored["histories"][run]
    label = population.setting_label(row)
    curve = figs.two_phase_curve(history, row["corrupt"], f"Model {run} ({label}, seed {row['seed']}): " + ("grokking, then unlearning" if population.two_phase(history) else "no two-phase curve"))
    pruning = pd.DataFrame([{
        "model": r["index"], "setting": population.setting_label(r), "seed": r["seed"], "memorising neurons": r["memorising_neurons"],
        "wrong labels kept": r["corrupted_memorised"], "… after pruning": r["corrupted_memorised_pruned"],
        "their true answers": r["corrupted_true"], "… after pruning ": r["corrupted_true_pruned"],
        "clean training": r["clean_train_accuracy"], "… after pruning  ": r["clean_train_accuracy_pruned"],
        "held-out": r["test_accuracy"], "… after pruning   ": r["test_accuracy_pruned"],
    } for r in stored["rows"]])
    claims = pd.DataFrame(stored["claims"] or [], columns=["claim", "verdict", "measured", "paper"])  # the verdict before the long texts
    intro = Text(f"**{name}**: {len(rows)} networks with corrupted training labels, {stored['settings']['steps']:,} full-batch steps each. "
                 "“To grok or not to grok” (Doshi et al.) makes four claims; each is checked here on these runs, with the thresholds given in its row. "
                 "*holds*: in every run it applies to; *depends*: in some settings (named); *does not hold*: in none; *not tested*: no run it applies to.")
    return Section(CLAIMS, [
        intro,
        Table("The paper's claims, measured here", claims, "verdict per claim over the runs it applies to"),
        Figure(curve, "two_phase"),
        Table("Pruning the memorising neurons, per network", pruning,
              "Accuracies before and after setting the output weights of the neurons with < 50% of their weight in the key irreps to zero."),
    ])


def default_population(names: list[str], groups: dict[str, str], group: str, corrupted: bool = False, noisy: frozenset = frozenset()) -> str | None:
    """The population the page (and the report) opens on for a network of ``group``: among the
    populations trained like it (with corrupted labels, ``noisy``, for a ``corrupted`` network, else
    without; any if there is none such), the first of that group (``groups``: population name -> its
    group), else the first of the same kind (Z_113 opens on a Z_59 population, not a dihedral one),
    else the first stored, else None."""
    names = [n for n in names if (n in noisy) == corrupted] or names
    same = [n for n in names if groups.get(n) == group]
    kind = [n for n in names if groups.get(n, "")[:1] == group[:1]]
    return (same or kind or names or [None])[0]


def population_sections(catalog: Catalog, group: str, corrupted: bool = False) -> list[Section]:
    """Sections 8 (and 9 for corrupted labels) at the page's defaults, for a network of ``group``."""
    names = population.population_names(catalog)
    stored = {}
    for n in names:
        stored[n] = population.read_population(*population.open_population(catalog, n))
    noisy = frozenset(n for n, v in stored.items() if v["claims"])
    chosen = default_population(names, {n: v["summary"]["group"] for n, v in stored.items()}, group, corrupted, noisy)
    if chosen is None:
        return []
    out = [population_section(chosen, stored[chosen])]
    if stored[chosen]["claims"]:
        out.append(claims_section(chosen, stored[chosen], default_run(stored[chosen])))
    return out


def sections(trained, catalog: Catalog) -> list[Section]:
    """The page's sections at its default settings (left side, the heaviest neuron, the pair (1, 2),
    the training's pruning threshold, nothing pruned)."""
    mech = load_mechanism(trained, _store(trained, catalog))
    threshold = mech.prune_threshold
    return [
        headline_section(mech),
        training_section(mech),
        spectrum_section(mech, "left", explain.irrep_table(mech.group.key)),
        neurons_section(mech, default_neuron(mech), default_pair(mech)),
        pair_section(mech, *default_pair(mech)),
        equivariance_section(mech),
        verification_section(mech),
        memorisation_section(mech, threshold, mech.memorising(threshold)),
        *population_sections(catalog, mech.group.key, mech.corrupted),
    ]
