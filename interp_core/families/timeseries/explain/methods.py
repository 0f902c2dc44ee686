"""The attribution methods' keys, labels and aliases, and reading them from user text."""

from __future__ import annotations

from interp_core.errors import InterpError

METHODS: dict[str, str] = {
    "integrated_gradients": "Integrated Gradients",
    "saliency": "Saliency",
    "deeplift": "DeepLift",
    "gradient_shap": "GradientSHAP",
    "occlusion": "Occlusion",
    "feature_ablation": "Feature Ablation",
}
RANDOM = "random"  # a reference "method": uniform noise, what chance looks like
ALIASES = {
    "ig": "integrated_gradients", "integratedgradients": "integrated_gradients", "sal": "saliency", "gradient": "saliency",
    "dl": "deeplift", "gs": "gradient_shap", "gradshap": "gradient_shap", "gradientshap": "gradient_shap", "shap": "gradient_shap",
    "occ": "occlusion", "fa": "feature_ablation", "ablation": "feature_ablation", "featureablation": "feature_ablation",
}
TSR_SUFFIX = "+tsr"


def method_label(key: str) -> str:
    base, tsr = split_method(key)
    label = "Random (reference)" if base == RANDOM else METHODS[base]
    return label + (" + TSR" if tsr else "")


def split_method(key: str) -> tuple[str, bool]:
    """'occlusion+tsr' -> ('occlusion', True)."""
    return (key[: -len(TSR_SUFFIX)], True) if key.endswith(TSR_SUFFIX) else (key, False)


def resolve_methods(names: list[str] | str | None, allow_random: bool = True) -> list[str]:
    """Method keys from user text ('ig, occlusion+tsr' or a list); unknown names raise one sentence."""
    if names is None:
        return list(METHODS)
    if isinstance(names, str):
        names = [names]
    parts = [p.strip().lower().replace("-", "_").replace(" ", "_") for n in names for p in str(n).split(",") if p.strip()]
    if any(p == "all" for p in parts):
        return list(METHODS) + ([RANDOM] if allow_random else [])
    out = []
    for part in parts:
        base, tsr = split_method(part)
        base = ALIASES.get(base.replace("_", ""), ALIASES.get(base, base))
        if base not in METHODS and not (allow_random and base == RANDOM and not tsr):
            choices = ", ".join(list(METHODS) + list(ALIASES)[:0] + ([RANDOM] if allow_random else []))
            raise InterpError(f"Unknown attribution method '{part}'; expected one of: {choices} (add '+tsr' for temporal saliency rescaling).")
        key = base + (TSR_SUFFIX if tsr else "")
        if key not in out:
            out.append(key)
    if not out:
        raise InterpError("No attribution method was given; expected a comma-separated list such as 'integrated_gradients,occlusion'.")
    return out
