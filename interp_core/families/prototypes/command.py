"""``explain prototypes [RECIPE] [--data FILE]``, and the family's default prototype network for a user's data."""

from __future__ import annotations

import argparse

import numpy as np

from interp_core import recipes
from interp_core.data import Dataset
from interp_core.errors import DataError, RecipeError
from interp_core.store import catalog_at

DEFAULT_ARCH = {"image": "protonet-conv2d", "tabular": "protonet-mlp", "series": "protonet-conv1d"}


def _read_user_data(path: str, target: str | None) -> Dataset:
    """NPZ images (n, h, w) or (n, c, h, w) with y; 2-D X is a table, CSV needs --target (the app's rule)."""
    from interp_core.userdata import read_user_file

    return read_user_file(path, "prototypes", target=target)


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

    if getattr(args, "model", None):
        return _explain_user_model(args)
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


def _explain_user_model(args: argparse.Namespace) -> dict:
    """``explain prototypes --model PATH --data FILE [--layer NAME]``: a prototype head on a layer of the user's model."""
    from interp_core.families.prototypes.explain import metric_readings
    from interp_core.families.prototypes.foreign import foreign_prototypes, prototype_rows
    from interp_core.progress import progress_bar
    from interp_core.userdata import foreign_from_args

    trained = foreign_from_args(args, "prototypes")
    bar, update = progress_bar("explain prototypes")
    try:
        found = foreign_prototypes(trained, catalog_at(args.store).store, seed=args.seed, progress=update, collect_progress=update)
    finally:
        bar.close()
    # the head was fitted to the model's predictions: analyse's accuracies are agreements, the data's labels give these
    metrics = {k: v for k, v in found.report.metrics.items() if not k.startswith("push_accuracy") and k != "test_accuracy"}
    labelled = trained.metrics.get("test_accuracy") is not None  # texts without labels are labelled with the model's predictions: no accuracy

    def accuracy(value: float) -> float | None:
        return round(value, 6) if labelled else None

    result = {"model": trained.extras["loaded"].description(), "layer": trained.model.layer, "recipe": None, **metrics,
              "test_accuracy": accuracy(found.test_accuracy), "push_accuracy_before": accuracy(found.test_accuracy_before_push), "push_accuracy_after": accuracy(found.test_accuracy),
              "agreement": round(found.agreement, 6), "agreement_before_push": round(found.agreement_before_push, 6), "model_test_accuracy": accuracy(found.model_test_accuracy),
              "n_test": int(len(trained.dataset.y_test)), "artifact": None, "activations_cached": found.cached,
              "prototypes": prototype_rows(found, trained.dataset.class_names)}
    if not args.json:
        print(f"prototype head on layer '{result['layer']}' of {result['model']['path']}: {result['n_prototypes']} prototypes, each a training example")
        print(f"- agrees with the model on {result['agreement']:.1%} of {result['n_test']} held-out examples (faithfulness; {result['agreement_before_push']:.1%} before the push)")
        if labelled:
            print(f"- accuracy {result['test_accuracy']:.4f} against the data's labels (the model's own: {result['model_test_accuracy']:.4f})")
        for key, line in metric_readings(metrics).items():
            if key != "decoded_distance":  # the head decodes nothing: its prototypes are real examples' activations
                print(f"- {line}")
    return result
