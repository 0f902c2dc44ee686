"""Where an SAE's activations come from: the recipe's source model and its activations (toy,
digits, MiniLM, or a user's file), a user's activations as a dataset, and a stored SAE's source
rebuilt without training."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

from interp_core import recipes
from interp_core.data import Dataset, load_dataset
from interp_core.errors import RecipeError
from interp_core.families.sae import data as sources
from interp_core.families.sae.hosts import DigitsHidden, MiniLMBlock, MiniLMTopics, MLPBlock
from interp_core.recipes import Recipe, TrainedModel
from interp_core.store import Catalog, Store


def build_source(recipe: Recipe, dataset: Dataset | None, device: torch.device, seed: int, store: Store | None) -> sources.ActivationSource:
    """The recipe's activations and the model they come from (toy: trained here, seeded; digits:
    a copy of the digits-mlp recipe; text: MiniLM from its package with topic centroids fitted here)."""
    kind = recipe.model_config["source"]
    if kind == "toy":
        dataset = dataset or load_dataset(recipe.dataset)
        return sources.toy_source(dataset, sources.train_toy_model(dataset, seed=seed, steps=recipe.model_config.get("toy_steps", 1500)))
    if kind == "digits":
        dataset = dataset or load_dataset(recipe.dataset)
        base = recipes.train_or_load("digits-mlp", Catalog(store) if store is not None else Catalog(), device="cpu")
        source = DigitsHidden(copy.deepcopy(base.model).cpu()).eval()
        source.base_config = dict(base.manifest["model_config"])  # rebuilds the copy on load
        return sources.digits_source(dataset, source.to(device))
    if kind == "digits-block":  # a transcoder's: [input | output] of one hidden block of an MLP classifier recipe
        dataset = dataset or load_dataset(recipe.dataset)
        base_name = recipe.model_config["base"]
        base = recipes.train_or_load(base_name, Catalog(store) if store is not None else Catalog(), device="cpu")
        source = MLPBlock(copy.deepcopy(base.model).cpu(), recipe.model_config["block"]).eval()
        source.base_config, source.base_recipe = dict(base.manifest["model_config"]), base_name
        source.description = block_description(source, base_name)
        return sources.digits_source(dataset, source.to(device))
    if kind == "text-block":  # a transcoder's: [input | output] of one MiniLM layer's MLP block, per content token
        dataset = dataset or load_dataset(recipe.dataset)
        model = MiniLMBlock(sources.load_minilm(), recipe.model_config["block"], dataset.n_classes).to(device).eval()
        sources.fit_topic_centroids(model, dataset)
        return sources.text_source(dataset, model)
    if kind == "text":
        dataset = dataset or load_dataset(recipe.dataset)
        model = MiniLMTopics(sources.load_minilm(), recipe.model_config.get("layer", 3), dataset.n_classes).to(device).eval()
        sources.fit_topic_centroids(model, dataset)
        return sources.text_source(dataset, model)
    if kind == "user":
        dataset = dataset or load_dataset(recipe.dataset)
        return user_acts_source(dataset)
    raise RecipeError(f"Recipe '{recipe.name}' names an unknown activation source '{kind}'; expected toy, digits, text or user.")


def block_description(host: MLPBlock, base_name: str) -> str:
    return (f"Hidden block {host.block + 1} of the {base_name} classifier on 8x8 handwritten digits: its input ({host.d_in} values) "
            f"and its output ({host.d_out} units after ReLU), which a transcoder reads and writes.")


# -- a user's activations (an NPZ with acts, optional true_features) as a dataset and a source ------
def acts_dataset(acts: np.ndarray, true_features: np.ndarray | None, name: str, seed: int = 0) -> Dataset:
    """Activations (n, d) as an "activations" Dataset: the training vectors, then 20% held out (as explain sae --data)."""
    source = sources.user_source(acts, true_features, name, seed=seed)
    n_train = source.n_train
    dataset = Dataset(name, "activations", source.acts[:n_train], np.zeros(n_train, dtype=np.int64), source.acts[n_train:], np.zeros(len(source.acts) - n_train, dtype=np.int64),
                      ["all"], description=source.description, source=f"user file {name}")
    if true_features is not None:
        dataset.extras["true_features"] = np.asarray(true_features, dtype=np.float32)
    return dataset


def user_acts_source(dataset: Dataset) -> sources.ActivationSource:
    """A user's activations, or a generated toy's (``synth.toy_dataset``: its true feature activations
    and hierarchy ride along in ``extras`` for label confidence and absorption)."""
    true_features = dataset.extras.get("true_features")
    acts = np.concatenate([dataset.X_train, dataset.X_test])
    generated = "true_acts" in dataset.extras
    described = (dataset.description if generated else f"Activations from {dataset.source.removeprefix('user file ')}: {len(acts)} vectors of dimension {acts.shape[1]}"
                 + (f", {len(true_features)} known true features." if true_features is not None else "."))
    return sources.ActivationSource(kind="user", description=described, acts=acts, n_train=len(dataset.X_train), dataset=dataset, true_features=true_features,
                                    extras={key: dataset.extras[key] for key in ("true_acts", "parents") if key in dataset.extras})


# -- rebuilding a stored SAE's activations (CLI, page) ------------------------------------------------
def source_for(trained: TrainedModel) -> sources.ActivationSource:
    """The activation source of a loaded SAE recipe, rebuilt from the stored source model (no training)."""
    if "source" in trained.extras:
        return trained.extras["source"]
    kind, model, dataset = trained.extras["source_kind"], trained.model.source, trained.dataset
    if kind == "toy":
        source = sources.toy_source(dataset, model)
    elif kind == "image":
        source = sources.digits_source(dataset, model)
    elif kind == "user":  # a user's activations, or a shard-trained SAE's top examples
        source = user_acts_source(dataset)
    else:
        source = sources.text_source(dataset, model)
    trained.extras["source"] = source
    return source


def read_acts_upload(data: bytes, filename: str) -> Dataset:
    """An uploaded activations NPZ (acts, optional true_features) as an "activations" Dataset."""
    acts, true_features = sources.load_acts_file(data, filename=filename)
    return acts_dataset(acts, true_features, Path(filename).name)
