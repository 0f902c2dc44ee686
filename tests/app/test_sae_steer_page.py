"""The SAE page's "Steer this feature" block (issue 18 item 1) in-process: ablating a digits-sae
feature on the test digit where it fires most moves the class probabilities, the edit's controls
rerun the block, and the causal-vs-decoder table is there; the toy says steering is not available."""

from __future__ import annotations

from tests.app.helpers import texts

PAGE = "views/sae.py"
FEATURE = "221"  # fires on 60 test digits, mostly 9s (tests/test_sae_steer.py's CLI case)


def open_feature(app, recipe: str, feature: str):
    """The feature's page from a link naming the recipe (picking it in the sidebar would start the page over)."""
    at = app(recipe=recipe, v_view="Feature", v_feature=feature)
    at.run()
    at.switch_page(PAGE)
    return at.run()


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_ablating_a_digits_feature_moves_the_probabilities_and_shows_the_causal_table(app):
    at = open_feature(app, "digits-sae", FEATURE)
    assert not at.exception, at.exception
    assert at.subheader[0].value.startswith(f"Feature {FEATURE}")
    assert "Steer this feature" in texts(at.markdown)
    assert float(metric(at, "Activation here")) > 0  # the default example is one where it fires
    ablated = float(metric(at, "KL (after || before)"))
    assert ablated > 0
    tables = [frame.value for frame in at.dataframe if "probability change when ablated" in frame.value.columns]
    assert len(tables) == 1 and len(tables[0]) == 10 and "decoder-direction logit effect" in tables[0].columns
    assert abs(tables[0]["probability change when ablated"]).max() > 0
    assert "Ablating feature 221 on the" in texts(at.markdown)
    at.selectbox(key=f"sae_steer_mode_digits-sae_{FEATURE}").set_value("scale it").run()
    at.number_input(key=f"sae_steer_scale_digits-sae_{FEATURE}").set_value(1.0).run()
    assert not at.exception, at.exception
    assert float(metric(at, "KL (after || before)")) == 0.0  # scaling by 1 changes nothing


def test_the_toy_says_steering_is_not_available(app):
    at = open_feature(app, "toy-sae", "3")
    assert not at.exception, at.exception
    assert any("Not available" in str(i.value) for i in at.info)


def test_minilm_steers_typed_text_and_reports_the_embedding_s_cosine(app):
    at = open_feature(app, "minilm-sae", "42")  # labelled 'try'
    assert not at.exception, at.exception
    on_window = metric(at, "Activation here")
    at.text_input(key="sae_steer_text_minilm-sae_42").input("Use a try statement to handle the exception.").run()
    assert not at.exception, at.exception
    assert float(metric(at, "Activation here")) > 0 and metric(at, "Activation here") != on_window  # it fires on the typed 'try'
    cosine = float(metric(at, "Cosine to original embedding"))
    assert 0 < cosine < 1 and float(metric(at, "KL (after || before)")) >= 0
