"""The SAE features page in-process (streamlit.testing): every recipe and view renders from the
shipped checkpoints, the table searches and hides dead features, the view lives in the URL."""

from __future__ import annotations

import pytest

from interp_core import recipes
from tests.app.helpers import open_page as open_view, texts

PAGE = "views/sae.py"
SAE_RECIPES = [r.name for r in recipes.list_recipes("sae")]



def open_sae(app, recipe: str | None = None, **query):
    return open_view(app, PAGE, recipe, **query)


def adapters_features(recipe: str):
    from interp_core.store import Catalog, SHIPPED_ROOT, Store

    return recipes.load(recipe, Catalog(Store(SHIPPED_ROOT / ".none"), Store(SHIPPED_ROOT, readonly=True)), device="cpu").extras["analysis"].features


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("recipe", SAE_RECIPES)
def test_every_recipe_renders_every_view(app, recipe):
    at = open_sae(app, recipe)
    assert not at.exception, at.exception
    assert at.title[0].value == "SAE features"
    assert int(metric(at, "Features").replace(",", "")) == recipes.get_recipe(recipe).model_config["width"]
    table = at.dataframe[0].value
    shown = set(table["feature"])
    assert 0 < len(table) and "dead" not in table  # dead features are hidden by default
    dead = set(adapters_features(recipe).query("dead")["feature"])
    assert not (shown & dead)
    for view in ("Feature", "Example", "Quality"):
        at.button_group(key="v_view").set_value(view).run()
        assert not at.exception, (view, at.exception)
        assert not at.error, (view, texts(at.error))
        assert at.query_params["v_view"] == view
    at.button_group(key="v_view").set_value("Feature").run()
    if int(at.query_params["v_feature"]) in dead:  # the feature kept from the recipe the app opened on is dead here (digits-transcoder's 0)
        at.number_input(key=f"sae_feature_picker_{at.query_params['v_feature']}").set_value(int(min(shown))).run()
    assert "Top-activating examples" in texts(at.markdown)
    assert at.subheader[0].value.startswith(f"Feature {at.query_params['v_feature']}")


def test_search_and_dead_filter(app):
    at = open_sae(app, "toy-sae")
    assert not [h for h in at.subheader if h.value.startswith("The recipe in use")]  # one SAE on the page: no heading to tell two apart
    everything = at.dataframe[0].value
    at.checkbox(key="v_dead").check().run()
    with_dead = at.dataframe[0].value
    assert len(with_dead) == 96 and len(everything) == 96 - with_dead["dead"].sum()
    at.text_input(key="v_search").input("feature 7 ").run()
    found = at.dataframe[0].value
    assert 0 < len(found) < len(with_dead) and found["label"].str.contains("feature 7").all()
    assert at.query_params["v_search"] == "feature 7 "


def test_a_url_reproduces_a_feature_page(app):
    at = open_sae(app, "digits-sae", v_view="Feature", v_feature="12")
    assert not at.exception
    assert at.subheader[0].value.startswith("Feature 12")
    assert at.query_params["v_feature"] == "12" and at.query_params["recipe"] == "digits-sae"


def test_bad_url_values_fall_back(app):
    at = open_sae(app, "toy-sae", v_view="Nonsense", v_feature="99999", v_example="-4")
    assert not at.exception
    assert at.button_group(key="v_view").value == "Features"
    assert 0 <= int(at.query_params["v_feature"]) < 96 and "v_example" not in at.query_params


def test_minilm_reads_free_text(app):
    at = open_sae(app, "minilm-sae", v_view="Example")
    at.radio(key="v_text_mode").set_value("Your own text").run()
    at.text_area(key="v_free_text").input("def greet(name): return 'hello ' + name").run()
    assert not at.exception and not at.error
    tokens = at.selectbox(key="v_free_token").options
    assert any("greet" in t or "gr" in t for t in tokens)


def test_a_picked_feature_and_example_stick_across_views(app):
    at = open_sae(app, "toy-sae", v_view="Feature", v_feature="5")
    at.number_input(key="sae_feature_picker_5").set_value(7).run()
    assert at.subheader[0].value.startswith("Feature 7")
    at.button_group(key="v_view").set_value("Example").run()
    picker = next(n for n in at.number_input if n.key.startswith("sae_example_picker_"))
    picker.set_value(8003).run()
    assert "Example 8003" in texts(at.subheader)
    at.button_group(key="v_view").set_value("Feature").run()
    assert at.subheader[0].value.startswith("Feature 7")
    at.button_group(key="v_view").set_value("Example").run()
    assert "Example 8003" in texts(at.subheader)
    assert at.query_params["v_feature"] == "7" and at.query_params["v_example"] == "8003"


def test_the_page_draws_the_report_sections(app):
    """The key numbers, the Features view and the Quality view are the Sections the HTML report and
    Compare draw (families/sae/sections.py): same headings, same numbers, as many figures."""
    from interp_core.families.sae import sections as family_sections
    from interp_core.report import Metrics, Table
    from interp_core.store import Catalog, SHIPPED_ROOT, Store

    catalog = Catalog(Store(SHIPPED_ROOT / ".none"), Store(SHIPPED_ROOT, readonly=True))
    trained = recipes.load("digits-sae", catalog, device="cpu")
    overview, listing, quality, causal = family_sections.sections(trained, catalog)  # causal: the report's only (tests/test_sae_causal_report.py)
    assert causal.title == family_sections.CAUSAL
    at = open_sae(app, "digits-sae")
    assert not at.exception, at.exception
    headline = overview.items[0]
    assert isinstance(headline, Metrics)
    assert [(m.label, m.value) for m in at.metric] == [(m.label, str(m.value)) for m in headline.values]
    assert "Spliced acc." in [m.label for m in at.metric] and next(m for m in at.metric if m.label == "Spliced acc.").delta.endswith("vs clean")
    assert texts(at.subheader) == listing.title
    report_table = next(item for item in listing.items if isinstance(item, Table)).frame
    assert at.dataframe[0].value.reset_index(drop=True).equals(report_table.reset_index(drop=True))
    at.button_group(key="v_view").set_value("Quality").run()
    assert not at.exception, at.exception
    assert texts(at.subheader) == quality.title
    assert len(at.get("plotly_chart")) == quality.n_figures == 4  # splice, sweep, density, training curve
    numbers = next(item for item in quality.items if isinstance(item, Table)).frame
    assert list(at.dataframe[0].value["metric"]) == list(numbers["metric"]) and "explained variance (held-out)" in list(numbers["metric"])


def test_the_quality_numbers_read_as_the_key_numbers_do(app):
    """The quality table once showed raw fractions (dead 0.1133, loss recovered 0.9884) under key
    numbers reading 11.3% and 98.8%; it now writes them the same way, with worded headers."""
    at = open_sae(app, "digits-sae", v_view="Quality")
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("metric")["value"]
    assert table["dead fraction (never fire)"] == metric(at, "Dead") and table["dead fraction (never fire)"].endswith("%")
    assert table["loss recovered"] == metric(at, "Loss recovered")
    assert table["explained variance (held-out)"] == metric(at, "Explained var.") and table["L0 (mean active features, held-out)"] == metric(at, "L0")
    config = at.dataframe[0].proto.columns
    assert '"Metric"' in config and '"Value"' in config


def test_a_zoomed_in_feature_map_lives_in_the_url_and_zooms_out(app):
    """A box dragged on the map (Chromium) stores its window in v_sae_zoom; the page then draws that
    window of the map only, says how many features it holds, and a button shows the whole map again."""
    import json

    import numpy as np

    from interp_core.store import Catalog, SHIPPED_ROOT, Store

    analysis = recipes.load("digits-sae", Catalog(Store(SHIPPED_ROOT / ".none"), Store(SHIPPED_ROOT, readonly=True)), device="cpu").extras["analysis"]
    coords = analysis.maps["umap"]
    x0, x1 = np.percentile(coords[:, 0], [10, 60])
    y0, y1 = np.percentile(coords[:, 1], [10, 60])
    inside = int(((coords[:, 0] >= x0) & (coords[:, 0] <= x1) & (coords[:, 1] >= y0) & (coords[:, 1] <= y1)).sum())
    zoom = f"umap:{x0:.6g},{x1:.6g},{y0:.6g},{y1:.6g}"
    at = open_sae(app, "digits-sae", v_view="Features", v_sae_zoom=zoom)
    assert not at.exception, at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert f"zoomed in: {inside} of 256 features in this window" in spec["layout"]["title"]["text"]
    assert spec["layout"]["xaxis"]["range"] == [float(f"{x0:.6g}"), float(f"{x1:.6g}")]
    assert at.query_params["v_sae_zoom"] == zoom
    at.button(key="sae_zoom_out").click().run()
    assert not at.exception
    assert "v_sae_zoom" not in at.query_params and "zoomed" not in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
    for bad in ("pca:0,1,0,1", "umap:3,1,0,1", "nonsense"):  # another map's window, an empty box, junk: the whole map
        at = open_sae(app, "digits-sae", v_view="Features", v_sae_zoom=bad)
        assert not at.exception and "v_sae_zoom" not in at.query_params


def test_a_shard_trained_sae_in_the_store_is_offered_and_opens_on_its_streamed_top_examples(app, user_store, tmp_path, monkeypatch):
    import numpy as np

    from interp_core.families.sae.shards import ShardSet, feature_statistics, write_shards
    from interp_core.families.sae.train import shard_recipe
    from interp_core.store import Catalog, Store

    monkeypatch.setattr(recipes, "_RECIPES", dict(recipes._RECIPES))  # the page registers the stored SAE; keep that to this test

    def numbered(start, stop):  # row i holds i in its first column, so a shown example says which row it is
        rows = np.random.default_rng(start).standard_normal((stop - start, 6)).astype(np.float32)
        rows[:, 0] = np.arange(start, stop)
        return rows

    folder = write_shards(tmp_path / "tiny-acts", 600, 6, numbered, shard_size=200).folder
    trained = recipes.train(shard_recipe(folder), store=Store(user_store), device="cpu", umap=False)
    assert trained.name not in {r.name for r in recipes.list_recipes()}  # trained, stored, but not a registered recipe
    at = open_sae(app)
    assert trained.name in at.sidebar.selectbox(key="recipe").options
    at.sidebar.selectbox(key="recipe").set_value(trained.name).run()
    assert not at.exception, at.exception
    width = trained.manifest["model_config"]["width"]
    assert int(metric(at, "Features").replace(",", "")) == width
    at.button_group(key="v_view").set_value("Feature").run()
    assert not at.exception and not at.error, (at.exception, texts(at.error))
    feature = int(at.query_params["v_feature"])
    table = at.dataframe[0].value  # the feature's top examples: stored example numbers, highest first
    loaded = recipes.load(trained.name, Catalog(Store(user_store)), "cpu")
    stats = feature_statistics(loaded.extras["sae"].encode, ShardSet(folder))  # the whole set's top rows, streamed again
    shard_rows = np.concatenate([loaded.dataset.X_train, loaded.dataset.X_test])[:, 0].astype(np.int64)  # example -> its row in the shards
    shown = shard_rows[table["example"].to_numpy()]
    assert len(shown) == int(stats.counts[feature] if stats.counts[feature] < 20 else 20) > 0
    assert set(shown[:-1]) <= set(stats.top_ids[feature])  # (the last may tie with a row left out: the stored codes are float16)
