"""The SAE page's Circuit panel for a transcoder feature (issue 18 item 2) in-process: the chart and
table of upstream features match ``circuit`` on the shipped transcoders, the number shown lives in
the URL, and a button opens the upstream feature on digits-transcoder-l1 (one step upstream)."""

from __future__ import annotations

from interp_core import recipes
from interp_core.families.sae import circuits
from interp_core.store import SHIPPED_ROOT, Catalog, Store
from tests.app.helpers import texts

FEATURE = 34  # class 4 (92%); its strongest upstream edge is also the one whose ablation drops it most


def open_feature(app, recipe: str, feature: str, **query):
    """The feature's page from a link (as tests/app/test_sae_steer_page.py opens one), with more of the URL's keys."""
    at = app(recipe=recipe, v_view="Feature", v_feature=feature, **query)
    at.run()
    at.switch_page("views/sae.py")
    return at.run()


def test_a_transcoder_feature_shows_its_circuit_and_opens_an_upstream_feature(app):
    at = open_feature(app, "digits-transcoder", str(FEATURE), v_circuit_top="5")
    assert not at.exception, at.exception
    assert "Circuit" in texts(at.markdown)
    shipped = Catalog(Store(SHIPPED_ROOT / ".none"), Store(SHIPPED_ROOT, readonly=True))
    expected, upstream = circuits.recipe_circuit(recipes.load("digits-transcoder", shipped, "cpu"), FEATURE, shipped, top=5)
    assert upstream == "digits-transcoder-l1"
    table = next(frame.value for frame in at.dataframe if "ablation_drop" in frame.value.columns)
    assert table["upstream"].tolist() == [e.upstream for e in expected] and len(table) == 5  # v_circuit_top from the link
    assert table["ablation_drop"].iloc[0] > 0
    first = expected[0].upstream
    at.button(key=f"sae_circuit_open_digits-transcoder_{FEATURE}_{first}").click().run()
    assert not at.exception, at.exception
    assert at.query_params["recipe"] == "digits-transcoder-l1" and at.query_params["v_feature"] == str(first)
    assert at.subheader[0].value.startswith(f"Feature {first}")
    assert any("reads the input itself" in str(i.value) for i in at.info)  # the first block's features have no upstream
