"""Prototypes family: prototype-network recipes, their trainer and ``explain prototypes``.

The trainer wraps the default classifier trainer (the shared fit loop calls the model's
``training_loss``), then stores what the page needs to open instantly from a checkpoint:
the ProtoPNet push (``push.safetensors``), a map of the encoded training and test data with
the prototypes (``projection-latent.safetensors``: rows = train, test, prototypes) and the
quality metrics (added to the manifest's ``metrics``).
"""

from __future__ import annotations

import argparse

import numpy as np

from interp_core import recipes
from interp_core.family import Family, Uploads, register_family
from interp_core.families.prototypes.sections import sections as family_sections
from interp_core.store import catalog_at
from interp_core.models import register_architecture
from interp_core.data import Dataset, load_user_file
from interp_core.data.userfiles import npz_ndim
from interp_core.errors import DataError, RecipeError
from interp_core.families.prototypes.models import ARCHITECTURES
from interp_core.projection import pca_2d, projection_file, umap_2d

LATENT_MAP = "latent"
PUSH_FILE = "push.safetensors"
DEFAULT_ARCH = {"image": "protonet-conv2d", "tabular": "protonet-mlp", "series": "protonet-conv1d"}

for _name, _cls in ARCHITECTURES.items():
    register_architecture(_name, _cls)


def latent_points(report) -> np.ndarray:
    """Rows of the latent map: training latents, test latents, then the prototypes."""
    return np.concatenate([report.latent_train, report.test.latent, report.prototypes]).astype(np.float32)


def train_prototypes(recipe: recipes.Recipe, **options) -> recipes.TrainedModel:
    """Train with the shared loop, then store the push, the latent map and the quality metrics."""
    from interp_core.families.prototypes.explain import analyse, push_prototypes

    stage = options.get("on_stage") or (lambda _text: None)
    # The test-set UMAP Home shows is cut from the joint latent map below instead of fitted twice.
    trained = recipes.train_classifier(recipe, **{**options, "umap": False})
    store, dataset, model = options["store"], trained.dataset, trained.model
    stage("Pushing each prototype onto its nearest training case and measuring prototype quality")
    push = push_prototypes(model, dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test)
    report = analyse(model, dataset, seed=options.get("seed", 0), push=push)
    points = latent_points(report)
    maps = {"pca": pca_2d(points)}
    if options.get("umap", True):
        stage("Computing the UMAP map of the latent space (the first map in a process compiles numba code)")
        maps["umap"] = umap_2d(points, seed=options.get("seed", 0))
    if "umap" in maps:
        n_train, n_test = len(dataset.y_train), len(dataset.y_test)
        test_maps = {"pca": store.read_arrays(trained.artifact, projection_file("test-embedding"))["pca"], "umap": maps["umap"][n_train : n_train + n_test]}
        store.add_file(recipe.name, projection_file("test-embedding"), test_maps)
    store.add_file(recipe.name, PUSH_FILE, {"prototypes": push.prototypes, "train_index": push.train_index.astype(np.int64), "moved": push.moved.astype(np.float32)})
    metrics = {**trained.metrics, **{k: v for k, v in report.metrics.items() if k not in ("device",)}}
    artifact = store.add_file(recipe.name, projection_file(LATENT_MAP), maps, manifest_updates={"metrics": metrics})
    trained.artifact, trained.manifest = artifact, artifact.manifest
    return trained


recipes.register_trainer("prototypes", recipes.Trainer(train_prototypes, recipes.load_classifier))

_IMAGE_TRAIN = {"epochs": 200, "batch_size": 128, "lr": 2e-3, "patience": 40}
recipes.register(recipes.Recipe(
    "digits-protonet", "prototypes", "digits", "protonet-conv2d",
    {"prototypes_per_class": 2, "loss_weights": {"ce": 20, "recon": 60, "r1": 1, "r2": 1, "l1": 1e-4}},
    _IMAGE_TRAIN,
    "Prototype network (Li et al. 2017) on 8x8 digits: conv autoencoder, 20 prototypes decoded to images.",
    trainer="prototypes",
))
recipes.register(recipes.Recipe(
    "digits-protonet-prob", "prototypes", "digits", "protonet-conv2d",
    {"prototypes_per_class": 2, "probabilistic": True, "prior_std": 0.1, "init_log_var": -5.0,
     "loss_weights": {"ce": 20, "recon": 60, "r1": 1, "r2": 1, "l1": 1e-4, "kl": 1.0}},
    _IMAGE_TRAIN,
    "Probabilistic (Gaussian) prototypes on 8x8 digits: sampled prototype sets give predictions and explanations with uncertainty.",
    trainer="prototypes",
))
recipes.register(recipes.Recipe(
    "breast-cancer-protonet", "prototypes", "breast_cancer", "protonet-mlp",
    {"prototypes_per_class": 3, "hidden": [32], "latent_dim": 8, "loss_weights": {"ce": 20, "recon": 5, "r1": 1, "r2": 1, "l1": 1e-4}},
    {"epochs": 300, "batch_size": 32, "lr": 2e-3, "patience": 60},
    "Prototype network on 30 cell measurements: MLP autoencoder, 6 prototypes shown as feature profiles.",
    trainer="prototypes",
))
recipes.register(recipes.Recipe(
    "gunpoint-protonet", "prototypes", "gunpoint", "protonet-conv1d",
    {"prototypes_per_class": 3, "channels": [16, 16, 16, 2], "kernel": 7, "loss_weights": {"ce": 20, "recon": 20, "r1": 5, "r2": 5, "l1": 1e-4}},
    {"epochs": 300, "batch_size": 16, "lr": 2e-3, "patience": 60, "val_fraction": 0.2},
    "Prototype network on GunPoint: 1-D conv autoencoder, 6 prototypes decoded to curves.",
    trainer="prototypes",
))


# -- the CLI: explain prototypes [RECIPE] [--data FILE] --------------------------------------------
def _read_user_data(path: str, target: str | None) -> Dataset:
    """NPZ images (n, h, w) or (n, c, h, w) with y; 2-D X is a table, CSV needs --target."""
    tabular = str(path).lower().endswith(".npz") and npz_ndim(path) == 2  # from X's header; a bad file is reported by load_user_file
    return load_user_file(path, target=target, modality=None if tabular else "image")


def _as_test_set(dataset: Dataset, trained: recipes.TrainedModel) -> Dataset:
    """Use every example of a user file as the test set of an already trained recipe."""
    shape = tuple(trained.dataset.input_shape)
    X = np.concatenate([dataset.X_train, dataset.X_test])
    if tuple(X.shape[1:]) != shape:
        raise DataError(f"The file's examples have shape {tuple(X.shape[1:])} but {trained.name} expects {shape}; give data shaped like its training set.")
    labels = [dataset.class_names[i] for i in np.concatenate([dataset.y_train, dataset.y_test])]
    known = {name: i for i, name in enumerate(trained.dataset.class_names)}
    unknown = sorted(set(labels) - set(known))
    if unknown:
        raise DataError(f"The file has labels {', '.join(unknown[:5])} that {trained.name} does not know; expected labels among {', '.join(trained.dataset.class_names)}.")
    y = np.array([known[name] for name in labels], dtype=np.int64)
    base = trained.dataset
    return Dataset(base.name, base.modality, base.X_train, base.y_train, X, y, base.class_names, base.feature_names, description=dataset.description, source=dataset.source)


def user_recipe(dataset: Dataset) -> recipes.Recipe:
    """The family's default prototype network for a user dataset."""
    arch = DEFAULT_ARCH.get(dataset.modality)
    if arch is None:
        raise DataError(f"Prototype networks need images, tables or series; the file holds {dataset.modality} data.")
    per_class = 2 if dataset.n_classes <= 20 else 1
    return recipes.Recipe(
        f"user-{dataset.name}-protonet", "prototypes", dataset.name, arch,
        {"prototypes_per_class": per_class, "loss_weights": {"ce": 20, "recon": 20, "r1": 1, "r2": 1, "l1": 1e-4}},
        {"epochs": 100, "batch_size": 64, "lr": 2e-3, "patience": 20},
        f"Default prototype network on {dataset.source}", trainer="prototypes",
    )


def explain_cli(args: argparse.Namespace) -> dict:
    from interp_core.families.prototypes.explain import analyse, push_prototypes
    from interp_core.store import Store

    catalog = catalog_at(args.store)
    if args.recipe:
        recipe = recipes.get_recipe(args.recipe)
        if recipe.family != "prototypes":
            names = ", ".join(r.name for r in recipes.list_recipes("prototypes"))
            raise RecipeError(f"Recipe '{recipe.name}' is not a prototype network; expected one of: {names}.")
        trained = recipes.train_or_load(recipe, catalog, device=args.device, seed=args.seed, umap=False)
        dataset = _as_test_set(_read_user_data(args.data, args.target), trained) if args.data else trained.dataset
    elif args.data:
        user = _read_user_data(args.data, args.target)
        trained = recipes.train(user_recipe(user), store=Store(args.store) if args.store else Store(), dataset=user, device=args.device, seed=args.seed, umap=False)
        dataset = trained.dataset
    else:
        raise RecipeError("explain prototypes needs a RECIPE (see: python -m interp_core recipes --family prototypes) or --data FILE.")
    push = push_prototypes(trained.model, dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test)
    report = analyse(trained.model, dataset, seed=args.seed, push=push)
    result = {"recipe": trained.name, **report.metrics, "n_test": int(len(dataset.y_test)), "artifact": str(trained.artifact.location)}
    if not args.json:
        from interp_core.families.prototypes.explain import metric_readings

        print(f"{trained.name}: {report.metrics['n_prototypes']} prototypes, test accuracy {report.metrics['test_accuracy']:.4f} on {len(dataset.y_test)} examples")
        for line in metric_readings(report.metrics).values():
            print(f"- {line}")
    return result


def upload_defaults(dataset: Dataset) -> list:
    """The page's default model for an uploaded table or images: a prototype network."""
    return [(user_recipe(dataset), None)]


register_family(Family(
    "prototypes", "Prototypes", icon=":material/photo_library:",
    pitch="A network that decides by similarity to learned cases: \"this looks like that\", with uncertainty.",
    explain=explain_cli, sections=family_sections, compare_pair=("digits-protonet", "digits-protonet-prob"), trainers=("prototypes",),
    uploads=Uploads(
        accepts="a CSV table (you choose the target column) or an NPZ with X and y: a table (n, features) or images (n, h, w) / (n, channels, h, w).",
        model_label="prototype network", defaults=upload_defaults, modality_3d="image"),
    artifacts={PUSH_FILE: "the push: each prototype's nearest training example", projection_file(LATENT_MAP): "the latent map's 2-D coordinates"},
))
