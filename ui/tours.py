"""Guided tours, one per page (keyed by the family the page passes to sidebar.render; "home" for
Home), or by the page file's name for pages without a family (Compare). Data only: each step names a part of the page and says what to look at there.

``target`` is how the tour finds that part on screen: the start of a heading's text ("heading"),
of a widget's label ("label"), of a metric's label ("metric"), or a button's text ("button").
The part found gets a numbered badge; the current step is outlined and scrolled to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TourStep:
    title: str
    text: str
    target: str
    kind: str = "heading"


TOURS: dict[str, list[TourStep]] = {
    "home": [
        TourStep("What this app is for", "Each page explains a model in a different way; every explanation comes with a number that says how faithful it is.", "Interp Explorer"),
        TourStep("Ways to look inside", "One card per family of explanations. Open one to explore the recipe in use with it.", "Ways to look inside a model"),
        TourStep("The model hub", "Every recipe is a dataset, a model and its settings; shipped models are ready, others can be trained here.", "Model hub"),
        TourStep("The recipe in use", "Its accuracy, its training curve and a map of how the model groups the test examples. Pick another recipe in the sidebar.", "Recipe in use"),
        TourStep("One example", "The selected example and the model's probabilities for it. Click a dot on the map, or change the example in the sidebar.", "Example "),
    ],
    "prototypes": [
        TourStep("The headline numbers", "Accuracy, and how trustworthy the prototypes are: purity (a prototype's neighbours share its class) and stability.", "Test accuracy", "metric"),
        TourStep("Global: the prototypes", "The learned cases the network compares every input with, and the weights that turn similarities into a class.", "Global: the prototypes"),
        TourStep("A prototype's neighbours", "The real training examples closest to the chosen prototype: a good prototype's neighbours all share its class.", "Nearest training examples"),
        TourStep("Local: this looks like that", "Why one example got its class: the prototypes it resembles, and exactly how much each one contributed.", "Local: this looks like that"),
        TourStep("Mistakes", "Every wrong test prediction; open one to see which prototypes misled the model.", "Misclassified test examples"),
        TourStep("Quality", "Can these explanations be trusted? Purity, stability and, for probabilistic models, whether uncertainty flags errors.", "Quality"),
    ],
    "sae": [
        TourStep("What the SAE is", "A sparse autoencoder rewrites a layer's activations as a few active features out of many; the numbers say how sparse (L0) and how faithful (explained variance) it is.", "SAE features"),
        TourStep("Sparsity", "L0: how many features fire on a typical example. Fewer is easier to read.", "L0", "metric"),
        TourStep("Faithfulness", "How much of the layer the features reconstruct. A low value means the features miss part of what the model computes.", "Explained var.", "metric"),
        TourStep("Four views", "Features (map and table), Feature (one feature's page), Example (what fires on one input), Quality (how faithful the SAE is).", "View", "label"),
    ],
    "concepts": [
        TourStep("The question", "Does the model use concepts people care about? TCAV tests it; a concept bottleneck model is built around it.", "Concepts"),
        TourStep("The headline numbers", "Accuracy and how many TCAV tests passed their significance test against random concepts.", "Test accuracy", "metric"),
        TourStep("TCAV", "Concept sensitivity of each class, tested against random concepts. Pick it in the view switch.", "TCAV", "button"),
        TourStep("Concept bottleneck", "Set the concepts by hand and watch the prediction change; correct the model's concept mistakes.", "Concept bottleneck", "button"),
        TourStep("Define a concept", "Choose examples yourself (by label or on a map) and test the new concept with TCAV.", "Define a concept", "button"),
        TourStep("One example", "The selected example, its concepts and how sensitive its class is to each concept.", "Example "),
    ],
    "timeseries": [
        TourStep("The question", "Which part of a signal drove a classification? Several attribution methods answer, and are scored.", "Time series"),
        TourStep("One series", "The selected series with each method's attribution drawn behind it; green marks the true decisive steps where known.", "Series "),
        TourStep("How the methods compare", "Scores against the ground truth (AUPRC) and faithfulness curves (deletion, insertion) for every method.", "How the methods compare"),
        TourStep("Where each method looks", "Attribution profiles per class, and a map of series explained alike.", "Where each method looks"),
        TourStep("Published results", "This model's accuracy beside published accuracies on the same data.", "Accuracy beside published results"),
    ],
    "rules": [
        TourStep("The question", "A black box explained by a small decision tree on its top features: rules anyone can read.", "Rules"),
        TourStep("How far to trust the rules", "Fidelity: how often the rules give the black box's answer on held-out data.", "How far to trust these rules"),
        TourStep("What the black box relies on", "Feature importance; the rules may only use the top k.", "Which features the black box relies on"),
        TourStep("The rules", "The surrogate tree and its rules with coverage and precision; the selected example's path is drawn in black.", "The rules"),
        TourStep("Trade-offs", "Fidelity against depth and k: deeper and wider rules copy the black box better but are harder to read.", "Trade-offs"),
        TourStep("One example", "What the black box and the rules say about one example, and the nearest change that flips it.", "Example "),
    ],
    "mechanisms": [
        TourStep("Training", "Memorise first, generalise later: grokking on a group operation.", "1. Training"),
        TourStep("The representations used", "Which irreducible representations (frequencies) the network's embeddings use.", "2. Which irreducible"),
        TourStep("Neurons", "Each neuron reads one irrep; click a cell to see a neuron's activation pattern.", "3. Neurons"),
        TourStep("One pair", "How each irrep pushes the right answer above the wrong ones for one input pair.", "4. One pair"),
        TourStep("Verification", "The explanation checked against brute force, and a proved accuracy bound.", "6. Verification"),
        TourStep("Corrupted labels", "Memorising neurons store wrong labels; pruning them removes the memory.", "7. Corrupted labels"),
    ],
    "compare": [
        TourStep("Two recipes side by side", "Two trained recipes of the same family: the same views next to each other, left the first, right the second.", "Compare two recipes"),
        TourStep("Choose the family", "Two SAE widths, deterministic vs probabilistic prototypes, CNN vs transformer attributions ...", "Family", "label"),
        TourStep("Choose the recipes", "The first recipe fills the left column, the second the right one. The page says when their datasets differ.", "First recipe", "label"),
        TourStep("Key numbers", "Every number both pages show, in one table: the quickest way to see which recipe is more faithful.", "Key numbers"),
    ],
}


def tour_for(page: str | None) -> list[TourStep]:
    return TOURS.get(page or "home", [])
