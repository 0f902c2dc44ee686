"""The manifest schema (interp_core.manifest) and the artifact check that uses it
(recipes.check_artifact): every wrong field is one sentence naming the artifact, the field, what it
holds and what was expected; the hub lists such an artifact as corrupted; shipped manifests pass."""

from __future__ import annotations

import copy
import json

import pytest

from interp_core import recipes
from interp_core.errors import ArtifactCorrupted
from interp_core.manifest import Manifest, model_manifest, validate
from interp_core.store import MANIFEST, SHIPPED_ROOT, Catalog, Store
from tests.artifacts import setting, tampered

WINE = json.loads((SHIPPED_ROOT / "wine-mlp" / MANIFEST).read_text())
SENTENCE_START = "Artifact 'wine-mlp' is corrupted: its manifest"


def assert_sentence(message: str, *phrases: str) -> None:
    assert message.startswith(SENTENCE_START), message
    assert message.endswith("."), message
    assert "\n" not in message and "Error" not in message and "Traceback" not in message, message
    for phrase in phrases:
        assert phrase in message, message


def without(field: str):
    def change(manifest: dict) -> None:
        del manifest[field]

    return change


# field change -> what the sentence must say (the field, what it holds, what was expected)
SCHEMA_CASES = {
    "metrics-text": (setting("metrics", "oops"), ["metrics holds the text 'oops'", "expected an object of metric names"]),
    "metric-object": (setting("metrics.test_accuracy", {"a": 1}), ["metrics.test_accuracy holds an object", "expected a number, a text, null or a list"]),
    "model_config-list": (setting("model_config", [1]), ["model_config holds the list [1]", "expected an object of the architecture's settings"]),
    "files-text": (setting("files", "model.safetensors"), ["files holds the text 'model.safetensors'", "expected an object of file names"]),
    "files-entry": (lambda m: m["files"].update({"model.safetensors": {"sha256": "zz", "bytes": 1}}), ["files.model.safetensors holds an object", "64 hex digits"]),
    "seed-text": (setting("seed", "0"), ["seed holds the text '0'", "expected a whole number"]),
    "seed-null": (setting("seed", None), ["seed holds null", "expected a whole number"]),
    "seed-bool": (setting("seed", True), ["seed holds the boolean true", "expected a whole number"]),
    "dataset-text": (setting("dataset", "wine"), ["dataset holds the text 'wine'", "expected an object"]),
    "dataset-no-name": (lambda m: m["dataset"].pop("name"), ["dataset has no 'name'", "expected a non-empty text"]),
    "dataset-classes": (setting("dataset.n_classes", "3"), ["dataset.n_classes holds the text '3'", "expected a whole number >= 0"]),
    "no-recipe": (without("recipe"), ["has no 'recipe' field", "expected the recipe's name"]),
    "arch-number": (setting("arch", 7), ["arch holds the number 7", "expected an architecture name"]),
    "family-empty": (setting("family", ""), ["family holds the text ''", "expected a family name"]),
    "trainer-list": (setting("trainer", []), ["trainer holds the list []", "expected a trainer name"]),
    "config_hash": (setting("config_hash", 5), ["config_hash holds the number 5", "expected a non-empty text"]),
    "versions": (setting("versions.torch", 2), ["versions.torch holds the number 2", "expected a version"]),
    "seconds": (setting("train_seconds", -1), ["train_seconds holds the number -1", "expected a number of seconds >= 0"]),
    "sae-text": (setting("sae", "topk"), ["sae holds the text 'topk'", "expected an object"]),
}


@pytest.mark.parametrize("case", SCHEMA_CASES)
def test_each_wrong_field_is_one_sentence(case):
    change, phrases = SCHEMA_CASES[case]
    manifest = copy.deepcopy(WINE)
    change(manifest)
    with pytest.raises(ArtifactCorrupted) as info:
        validate(manifest, "wine-mlp", "/stores/user/wine-mlp")
    assert_sentence(str(info.value), *phrases, "retrain it or delete /stores/user/wine-mlp")


def test_a_manifest_that_is_not_an_object():
    with pytest.raises(ArtifactCorrupted) as info:
        validate([1, 2], "wine-mlp")
    assert_sentence(str(info.value), "holds the list [1, 2], expected a JSON object", "retrain it.")


def test_a_valid_manifest_keeps_its_fields_and_unknown_keys():
    manifest = {**copy.deepcopy(WINE), "from_a_newer_version": {"x": 1}}
    checked = validate(manifest, "wine-mlp")
    assert isinstance(checked, Manifest)
    assert checked.metrics == WINE["metrics"] and checked.seed == WINE["seed"] and checked.model_config == WINE["model_config"]
    assert checked.trainer == "classifier"  # older manifests have no trainer: the default one made them
    assert checked.extra == {"from_a_newer_version": {"x": 1}}
    assert checked.to_dict()["from_a_newer_version"] == {"x": 1}
    assert {k: checked.to_dict()[k] for k in manifest} == manifest


def test_every_shipped_manifest_and_its_configs_pass():
    shipped = Store(SHIPPED_ROOT, readonly=True)
    names = shipped.names()
    assert len(names) >= 20
    for name in names:
        checked = recipes.check_artifact(shipped.open(name, verify=False))
        assert checked.name == name and checked.recipe == name


def test_model_manifest_builds_the_schema_fields():
    recipe = recipes.get_recipe("wine-mlp")
    built = model_manifest(recipe, dataset={"name": "wine"}, model_config={"hidden": [4]}, train_config={}, seed=3, config_hash="abc",
                           metrics={"test_accuracy": 0.5}, device="cpu", train_seconds=1.23456, kind="classifier")
    stored = {**built, "name": "wine-mlp", "files": {}}
    checked = validate(stored, "wine-mlp")
    assert (checked.recipe, checked.trainer, checked.family, checked.arch, checked.kind) == ("wine-mlp", "classifier", "classifier", "mlp", "classifier")
    assert checked.device == "cpu" and checked.device_name == "CPU" and checked.train_seconds == 1.235
    with pytest.raises(ValueError, match="not in the Manifest schema"):
        model_manifest(recipe, dataset={}, model_config={}, train_config={}, seed=0, config_hash="a", metrics={}, device="cpu", train_seconds=0, surprise=1)


# -- the configs a loader builds, checked with the manifest (a stored artifact) --------------------
CONFIG_CASES = {
    "hidden-negative": ("wine-mlp", setting("model_config.hidden", [-1]), "model_config has field 'hidden' = the list [-1], expected a list of at most 64 positive integers"),
    "dropout-5": ("wine-mlp", setting("model_config.dropout", 5), "model_config has field 'dropout' = the number 5, expected a number from 0 up to (not including) 1"),
    "hidden-text": ("wine-mlp", setting("model_config.hidden", "32"), "model_config has field 'hidden' = the text '32'"),
    # Linear(13, h) and Linear(h, 3) with their biases, and the input scaler's mean and std
    "hidden-huge": ("wine-mlp", setting("model_config.hidden", [50_000_000]), f"model_config declares {14 * 50_000_000 + 3 * 50_000_001 + 2 * 13:,} weights (parameters and buffers), over the limit of 50,000,000"),
    "no-input-shape": ("wine-mlp", lambda m: m["model_config"].pop("input_shape"), "model_config has no field 'input_shape', expected a list of 1 to 4 positive integers"),
    "unknown-key": ("wine-mlp", setting("model_config.layers", 3), "model_config has an unknown field 'layers'"),
    "unknown-arch": ("wine-mlp", setting("arch", "resnet"), "model_config cannot be used (Unknown architecture 'resnet'"),
    "sae-k-text": ("toy-sae", setting("sae.config.k", "3"), "sae.config has field 'k' = the text '3'"),
    "toy-source-huge": ("toy-sae", setting("source.n_features", 10**9), f"source declares {10**9 * 12 + 10**9:,} weights"),  # W (12, n) and b (n)
    "base-config": ("digits-sae", setting("source.base_config.dropout", -0.5), "source.base_config has field 'dropout' = the number -0.5"),
    "text-source": ("minilm-sae", setting("source.n_topics", 0), "source has field 'n_topics' = the number 0"),
}


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_a_wrong_model_config_marks_the_artifact_corrupted(case, tmp_path):
    name, change, phrase = CONFIG_CASES[case]
    tampered(tmp_path / "user", name, change)
    catalog = Catalog(Store(tmp_path / "user"), Store(SHIPPED_ROOT, readonly=True))
    with pytest.raises(ArtifactCorrupted) as info:
        recipes.find_artifact(name, catalog)
    message = str(info.value)
    assert message.startswith(f"Artifact '{name}' is corrupted: its manifest's "), message
    assert phrase in message and message.endswith(f"retrain it or delete {tmp_path / 'user' / name}."), message
    with pytest.raises(ArtifactCorrupted) as loading:  # loading says the same, before building anything
        recipes.load(name, catalog, device="cpu")
    assert str(loading.value) == message
    row = recipes.recipe_status(recipes.get_recipe(name), catalog)
    assert row["status"] == "corrupted" and row["message"] == message


def test_the_hub_lists_a_bad_manifest_as_corrupted_and_the_others_as_usual(tmp_path):
    tampered(tmp_path / "user", "wine-mlp", setting("metrics", "oops"))
    catalog = Catalog(Store(tmp_path / "user"), Store(SHIPPED_ROOT, readonly=True))
    rows = {row["recipe"]: row for row in (recipes.recipe_status(r, catalog) for r in recipes.list_recipes())}
    assert rows["wine-mlp"]["status"] == "corrupted"
    assert_sentence(rows["wine-mlp"]["message"], "metrics holds the text 'oops'")
    assert rows["wine-mlp"]["test_accuracy"] is None
    others = [row for name, row in rows.items() if name != "wine-mlp"]
    assert {row["status"] for row in others} == {"shipped"}
    assert all(row["test_accuracy"] is not None for name, row in rows.items() if name not in ("wine-mlp", "toy-sae-hier"))  # toy-sae-hier: no model to score
