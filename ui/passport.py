"""The example passport: one selected example (and the last SAE feature or prototype picked)
follows the user from page to page.

The passport is (dataset, test index). Two recipes share examples when their test sets are the
same arrays (a fingerprint of X_test and y_test), so e.g. breast_cancer_concepts and breast_cancer
count as one. A page whose recipe has the passport's data opens on that example; a page whose
recipe has other data says so in one line and keeps the passport, so going back restores it.
The sidebar shows the passport as a small card (``render_card``).
"""

from __future__ import annotations

import hashlib
import html

import numpy as np
import streamlit as st

from interp_core import recipes
from interp_core.data import load_dataset
from interp_core.figures.common import thumbnail_pixels
from ui import cache, state

KEY = "_passport"              # {"dataset", "data", "index", "recipe"}: recipe = a classifier that predicted it, or None
ITEM = "_passport_item"        # {"kind": "feature"|"prototype", "recipe", "index", "label", "page"}
SHOWN = "_passport_shown"      # (recipe, example) the sidebar showed on the previous run
SWITCHED = "_passport_switched"  # this run is the first on its recipe after another recipe/page (not the session's first)
BY_DATA = "_passport_by_data"  # last example shown per test set, for pages whose data differs from the passport's
URL_KEY = "passport"           # "dataset:index", in the URL only while a page shows other data than the passport's


def fingerprint(dataset) -> str:
    """Identity of a test set: two recipes with the same fingerprint share their examples."""
    digest = hashlib.sha1()
    digest.update(np.ascontiguousarray(dataset.X_test).tobytes())
    digest.update(np.ascontiguousarray(dataset.y_test).tobytes())
    return digest.hexdigest()[:16]


@st.cache_data(show_spinner=False, max_entries=64)
def _model_data(name: str, stamp: str) -> str:
    return fingerprint(cache.trained_model(name).dataset)


@st.cache_data(show_spinner=False, max_entries=64)
def _registry_data(dataset_name: str) -> str:
    try:
        return fingerprint(load_dataset(dataset_name))
    except Exception:  # noqa: BLE001 - a user's or session dataset is not in the registry: compare by name
        return f"name:{dataset_name}"


def data_of_recipe(name: str) -> str:
    """The test-set fingerprint of a recipe without loading its model (the registry's dataset)."""
    try:
        return _registry_data(recipes.get_recipe(name).dataset)
    except Exception:  # noqa: BLE001 - an unknown recipe shares nothing
        return f"recipe:{name}"


def data_of_model(name: str, model) -> str:
    stamp = cache.artifact_stamp(name) or "none"
    try:
        return _model_data(name, stamp)
    except Exception:  # noqa: BLE001 - a model without a test set
        return f"recipe:{name}"


def current() -> dict | None:
    passport = st.session_state.get(KEY)
    if passport is None:
        passport = _from_url()
    return passport


def _from_url() -> dict | None:
    """A shared link may carry the passport (``passport=dataset:index``) of a page showing other data."""
    raw = st.session_state.get(URL_KEY)
    if not raw or st.session_state.get("_passport_url_read"):
        return None
    st.session_state["_passport_url_read"] = True
    dataset_name, _, index = str(raw).rpartition(":")
    try:
        index = int(index)
        data = _registry_data(dataset_name)
        n_test = len(load_dataset(dataset_name).y_test)
    except Exception:  # noqa: BLE001 - a hand-edited link: ignore the passport silently
        return None
    if not 0 <= index < n_test:
        return None
    passport = {"dataset": dataset_name, "data": data, "index": index, "recipe": None}
    st.session_state[KEY] = passport
    return passport


def preferred_recipe(options: list[str], remembered: str | None) -> str:
    """The recipe a page opens on: one with the passport's data (the page's last one if it has it), else its last one."""
    passport = current()
    if passport is not None:
        same = [r for r in options if data_of_recipe(r) == passport["data"]]
        if same:
            return remembered if remembered in same else same[0]
    return remembered if remembered in options else options[0]


def recipe_for_page(page: str | None, selected: str | None, options: list[str], remembered: str | None) -> str:
    """The recipe a page shows. Just after a page switch: one with the passport's data when the page
    has one (the page's last recipe first, then the current one); otherwise the current one, else the page's last."""
    arrived = st.session_state.get("_passport_page", page) != page
    st.session_state["_passport_page"] = page
    passport = current()
    if arrived and passport is not None:
        for candidate in (remembered, selected):
            if candidate in options and data_of_recipe(candidate) == passport["data"]:
                return candidate
        same = [r for r in options if data_of_recipe(r) == passport["data"]]
        if same:
            return same[0]
    if selected in options:
        return selected
    return preferred_recipe(options, remembered)


def _set(dataset_name: str, data: str, index: int, recipe: str | None) -> None:
    old = st.session_state.get(KEY)
    if recipe is None and old is not None and old["data"] == data:
        recipe = old.get("recipe")  # keep the classifier that predicted it (an SAE page has none)
    st.session_state[KEY] = {"dataset": dataset_name, "data": data, "index": int(index), "recipe": recipe}


def example_for(name: str, model, n_test: int) -> int:
    """The test example the sidebar shows for a classifier recipe; keeps the passport up to date.

    Same recipe as last run: the example in the session is the user's choice. Another recipe (a page
    switch or a new recipe): the passport's example when its data is here, else this data's last one.
    """
    data = data_of_model(name, model)
    passport = current()
    shown = st.session_state.get(SHOWN)
    requested = state.get_int("example", None)
    valid = lambda i: i is not None and 0 <= i < n_test  # noqa: E731
    same_data = passport is not None and passport["data"] == data
    first = model.dataset.extras.get("default_example", 0)  # a dataset may name a clearer example than 0 to open on
    first = first if valid(first) else 0
    if shown is None:  # the session's first run: the URL decides
        index = requested if valid(requested) else passport["index"] if same_data and valid(passport["index"]) else first
    elif shown[0] == name:
        index = requested if valid(requested) else shown[1] if valid(shown[1]) else first
    elif same_data and valid(passport["index"]):
        index = passport["index"]
    else:
        remembered = st.session_state.get(BY_DATA, {}).get(data)  # this data's last example, else the same number
        # (the same number only stands for a choice when there is a passport; else it is a default too)
        index = remembered if valid(remembered) else requested if valid(requested) and passport is not None else first
    # Only a chosen example travels: one picked here, or one a link named (the default example is no choice).
    picked = (shown[0] == name and index != shown[1]) if shown is not None else valid(requested) and passport is None
    if picked or same_data:
        _set(model.dataset.name, data, index, name)
    _after(name, index, data)
    st.session_state.setdefault(BY_DATA, {})[data] = index
    return index


def no_examples(name: str, model=None) -> None:
    """A recipe without test examples in the sidebar (SAE, mechanisms, untrained): the passport waits."""
    st.session_state.pop("example", None)  # no sidebar example here: keep it out of the URL (the passport remembers)
    _after(name, None, data_of_model(name, model) if model is not None else data_of_recipe(name))


def _after(name: str, index: int | None, data: str) -> None:
    shown = st.session_state.get(SHOWN)
    st.session_state[SWITCHED] = shown is not None and shown[0] != name
    st.session_state[SHOWN] = (name, index)
    passport = st.session_state.get(KEY)
    here = passport is not None and passport["data"] == data
    # The URL names the passport only while the page shows other data, so a shared link keeps it.
    st.session_state[URL_KEY] = None if passport is None or here else f"{passport['dataset']}:{passport['index']}"


def switched() -> bool:
    """Whether this run arrived on its recipe from another recipe or page (not a link's first run)."""
    return bool(st.session_state.get(SWITCHED))


def index_on(name: str, model) -> int | None:
    """The passport's test index when this recipe's test set is the passport's, else None."""
    passport = current()
    if passport is None or passport["data"] != data_of_model(name, model):
        return None
    return passport["index"] if 0 <= passport["index"] < len(model.dataset.y_test) else None


def picked_on(name: str, model, index: int) -> bool:
    """A page without the sidebar picker (SAE) selected test example ``index``: it becomes the passport.
    True when the passport changed (the card, drawn earlier in the run, is out of date)."""
    if not 0 <= index < len(model.dataset.y_test):
        return False
    before = st.session_state.get(KEY)
    _set(model.dataset.name, data_of_model(name, model), index, None)
    st.session_state[URL_KEY] = None
    return st.session_state[KEY] != before


def pin(kind: str, name: str, index: int, label: str, page: str) -> None:
    """Remember the SAE feature or prototype the user picked last: the card offers a way back to it."""
    st.session_state[ITEM] = {"kind": kind, "recipe": name, "index": int(index), "label": label, "page": page}


def pinned(kind: str, name: str) -> int | None:
    item = st.session_state.get(ITEM)
    if item and item["kind"] == kind and item["recipe"] == name:
        return item["index"]
    return None


def _facts(passport: dict) -> dict:
    """Truth and prediction of the passport's example, from the classifier that showed it."""
    facts = {"truth": None, "predicted": None, "probability": None, "recipe": passport.get("recipe"), "x": None, "modality": None, "shape": None}
    try:
        name = passport.get("recipe")
        model = cache.trained_model(name) if name else None
        dataset = model.dataset if model is not None else load_dataset(passport["dataset"])
        index = passport["index"]
        facts.update(truth=dataset.class_names[int(dataset.y_test[index])], x=dataset.X_test[index], modality=dataset.modality, shape=dataset.input_shape)
        if model is not None and model.is_classifier:
            probabilities = cache.test_probabilities(name, cache.artifact_stamp(name))[index]
            predicted = int(probabilities.argmax())
            facts.update(predicted=dataset.class_names[predicted], probability=float(probabilities[predicted]))
    except Exception:  # noqa: BLE001 - the card is a convenience: show what is known
        pass
    return facts


def _thumbnail(facts: dict) -> None:
    x, modality = facts["x"], facts["modality"]
    if x is None:
        return
    if modality == "image":
        pixels = thumbnail_pixels(x, facts["shape"])
        st.image(pixels, width=min(pixels.shape[1], 96))
    elif modality == "series":
        series = np.asarray(x, dtype=float).reshape(-1, np.asarray(x).shape[-1])[0]
        st.html(_sparkline(series))


def _sparkline(series: np.ndarray, width: int = 160, height: int = 36) -> str:
    """A tiny SVG line of a series' first channel (a thumbnail, not a chart: no axes to read)."""
    lo, hi = float(series.min()), float(series.max())
    span = hi - lo or 1.0
    xs = np.linspace(1, width - 1, len(series))
    ys = height - 2 - (series - lo) / span * (height - 4)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys))
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="thumbnail of the series">'
            f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{points}"/></svg>')


def render_card(name: str, page: str) -> None:
    """The sidebar card: the passport's dataset, index, true label and prediction, a thumbnail, the pinned item.

    ``page`` is the running page's file (views/x.py), so the card offers a way back to a pinned item elsewhere."""
    passport = current()
    item = st.session_state.get(ITEM)
    if passport is None and item is None:
        return
    with st.container(border=True, key="passport_card"):
        if passport is not None:
            facts = _facts(passport)
            st.markdown(f"**Your example:** {html.escape(passport['dataset'])} #{passport['index']}")
            lines = []
            if facts["truth"] is not None:
                lines.append(f"True class **{facts['truth']}**")
            if facts["predicted"] is not None:
                mark = "" if facts["predicted"] == facts["truth"] else " (wrong)"
                lines.append(f"predicted **{facts['predicted']}** ({facts['probability']:.2f}) by {facts['recipe']}{mark}")
            if lines:
                st.caption(", ".join(lines))
            _thumbnail(facts)
        if item is not None:
            what = "SAE feature" if item["kind"] == "feature" else "Prototype"
            st.caption(f"Pinned: {what} **{item['label']}** of {item['recipe']}")
            if not (item["recipe"] == name and page == item["page"]):
                if st.button(f"Open {what.lower()} {item['label']}", key="passport_open_item", width="stretch"):
                    values = {"recipe": item["recipe"]}
                    values.update({"v_feature": item["index"], "v_view": "Feature"} if item["kind"] == "feature" else {"v_proto": item["index"]})
                    state.queue(**values)
                    st.switch_page(item["page"])


NO_EXAMPLES = {"compare"}  # pages (url paths) that show no single example: the passport has nothing to say there


def notice(name: str) -> None:
    """One line on the page when its recipe has other data than the passport's (not on a page
    without examples, where "your example came from wine" would point at nothing)."""
    passport = current()
    if passport is None or st.session_state.get("_page_url_path") in NO_EXAMPLES:
        return
    try:
        model = cache.trained_model(name)
    except Exception:  # noqa: BLE001 - the sidebar already said what is wrong with it
        return
    if model is None or passport["data"] == data_of_model(name, model):
        return
    here = model.dataset.name
    shown = st.session_state.get(SHOWN)
    instead = f" — showing example {shown[1]} of {here} instead" if shown and shown[0] == name and shown[1] is not None else ""
    st.info(f"This page's recipe ({name}) uses **{here}**; your example came from **{passport['dataset']}** "
            f"(#{passport['index']}){instead}. It stays in the sidebar and comes back on a page with {passport['dataset']}.",
            icon=":material/swap_horiz:")
