"""Home's "Bring your own model" with a Hugging Face encoder (issue 17), in AppTest through the real upload inputs: a
tiny BertModel (no head) built here, zipped, and labelled texts. The box maps the texts at a picked block (each text
the mean of its tokens' vectors, coloured by label), selects a text, trains an SAE on a block with the quality numbers
the engine gives (the sentence embedding's cosines); the SAE features page's own model picker lists the encoder and
shows the same SAE in the page's four views (as for a causal LM, without logit effects or steering, the splice per
held-out text as cosines), then opens an SAELens folder for the block instead."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.app.test_causal_lm_upload import chart_titled
from tests.app.test_foreign_layers import _zipped
from tests.app.test_uploads import metric, open_page, texts, upload


@pytest.fixture(scope="module")
def encoder_zip(tmp_path_factory):
    pytest.importorskip("transformers")
    from tests.foreign_models import review_texts, tiny_encoder

    root = tmp_path_factory.mktemp("encoder")
    tiny_encoder(root / "tiny-bert")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in (root / "tiny-bert").iterdir():
            archive.write(path, f"tiny-bert/{path.name}")
    lines, labels = review_texts(40)
    jsonl = "\n".join(json.dumps({"text": t, "label": l}) for t, l in zip(lines, labels)).encode()
    return buffer.getvalue(), jsonl, root / "tiny-bert"


def map_points(at) -> dict[str, np.ndarray]:
    """The embedding map's points by label: {label: (n, 3) rows of (text index, x, y)}."""
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if json.loads(c.proto.spec)["layout"]["title"]["text"].startswith("Embedding map"))
    return {trace["name"]: np.column_stack([_values(trace["customdata"]), _values(trace["x"]), _values(trace["y"])])
            for trace in spec["data"] if trace.get("name") not in (None, "selected")}


def _values(value) -> np.ndarray:
    """A Plotly array as JSON gives it: a list, or a typed array ({"dtype", "bdata"} in base64)."""
    if isinstance(value, dict):
        import base64

        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value, dtype=float)


def test_an_encoder_is_mapped_and_its_sae_trained_on_home_and_on_the_sae_page(app, encoder_zip, tmp_path):
    from interp_core import causal_lm as lm
    from interp_core.families.sae.causal import explain_text_model
    from interp_core.modelfiles import load_model_path
    from interp_core.store import Store

    model_zip, jsonl, folder = encoder_zip
    at = open_page(app)
    upload(at, "upload_model", "tiny-bert.zip", model_zip)
    assert not at.error, texts(at.error)
    assert "**encoder**" in " ".join(str(c.value) for c in at.caption)  # not the classifier's data and layer pickers
    upload(at, "upload_model_data", "reviews.jsonl", jsonl)
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    loaded = load_model_path(folder)
    data = lm.lm_texts(loaded, jsonl, "reviews.jsonl")
    # the map: each text at the default block, coloured by its label
    coords, codes, names = lm.text_map(lm.text_model(loaded), data)
    points = map_points(at)
    assert sorted(points) == ["negative", "positive"]
    for k, name in enumerate(names):
        rows = points[name]
        assert sorted(rows[:, 0].astype(int)) == np.flatnonzero(codes == k).tolist()
        np.testing.assert_allclose(rows[:, 1:], coords[rows[:, 0].astype(int)], atol=1e-4)
    at.selectbox(key="encoder_map_layer").set_value("encoder.layer.0").run()
    coords0, _codes, _names = lm.text_map(lm.text_model(loaded, "encoder.layer.0"), data)
    rows = np.concatenate(list(map_points(at).values()))
    np.testing.assert_allclose(rows[:, 1:], coords0[rows[:, 0].astype(int)], atol=1e-4)
    at.selectbox(key="encoder_text").set_value(3).run()
    assert f"**Text 3**: label {data.labels[3]}" in texts(at.markdown)
    # the SAE on the default block, as the engine trains it; its features are on the SAE page
    at.button(key="encoder_train").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    expected = explain_text_model(loaded, data, Store(tmp_path / "store"))
    assert metric(at, "L0") == f"{expected['l0']:.1f}" and metric(at, "Explained variance") == f"{expected['explained_variance']:.3f}"
    assert metric(at, "Embedding cosine") == f"{expected['cosine_sae']:.3f}" and metric(at, "Cosine, block zeroed") == f"{expected['cosine_zero']:.3f}"
    # the SAE page's own picker: the encoder, its SAE already trained in this session, in the page's four views
    at.switch_page("views/sae.py")
    at.run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="sae_foreign_model")
    assert picker.value == "tiny-bert (encoder, on reviews.jsonl)"
    assert at.selectbox(key="encoder_page_layer").options == lm.blocks(lm.text_model(loaded).tree)
    assert metric(at, "Embedding cosine") == f"{expected['cosine_sae']:.3f}"
    four_views(at, loaded, data, expected)
    # or an SAELens SAE opened for the block: the folder the engine wrote, zipped, measured as explain sae --sae measures it
    at.button(key="encoder_page_another").click().run()
    upload(at, "encoder_page_saelens_zip", "mine.zip", _zipped({f"mine/{p.name}": p.read_bytes() for p in Path(expected["sae_path"]).iterdir()}))
    at.button(key="encoder_page_open").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert "the SAELens SAE 'mine', opened here" in " ".join(str(c.value) for c in at.caption)
    assert metric(at, "L0") == f"{expected['l0']:.1f}" and metric(at, "Embedding cosine") == f"{expected['cosine_sae']:.3f}"
    assert chart_titled(at, "Feature map (PCA)")


def four_views(at, loaded, data, expected) -> None:
    """The SAE page's Features, Feature, Example and Quality views on the encoder's SAE, each checked against codes read here."""
    from interp_core import causal_lm as lm
    from interp_core.families.sae.saelens import load_saelens_sae

    sae = load_saelens_sae(expected["sae_path"]).eval()
    acts, text, position = lm.token_activations(lm.text_model(loaded), data.ids)
    with torch.no_grad():
        codes = sae.encode(torch.as_tensor(acts)).numpy()
    density = (codes > 0).mean(0)
    # Features: one map point per feature, the live features in the table at their densities
    assert at.session_state["encoder_page_view"] == "Features"
    points = sorted(int(j) for trace in chart_titled(at, "Feature map (PCA)")["data"] for j in _values(trace.get("customdata", [])))
    assert set(points) == set(range(expected["n_features"]))
    table = next(d.value for d in at.dataframe if "mean_activation" in d.value.columns)
    assert sorted(table["feature"].tolist()) == np.flatnonzero(density > 0).tolist()
    assert table["density"].to_numpy() == pytest.approx(density[table["feature"].to_numpy()], abs=1e-6)
    # Feature: the densest feature, its strongest token in context, its activation histogram; no logit effects (said once)
    at.session_state["encoder_page_view"] = "Feature"
    at.run()
    assert not at.exception and not at.error, texts(at.error)
    feature = int(np.argmax(density))
    assert feature == expected["features"][0]["feature"]
    top = int(np.argmax(codes[:, feature]))
    html = " ".join(str(m.value) for m in at.markdown)
    assert f"<code>{float(codes[top, feature]):6.2f}</code>" in html and lm.token_labels(loaded.tokenizer, [int(data.ids[text[top], position[top]])])[0] in html
    hist = chart_titled(at, f"Activation histogram of feature {feature}")
    assert int(_values(hist["data"][0]["y"]).sum()) == int((codes[:, feature] > 0).sum())
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert not any(t.startswith("Effect on the outputs") for t in titles) and any("no unembedding" in str(c.value) for c in at.caption)
    # Example: a held-out text's token 2; its first bar is the feature the codes put highest there
    at.session_state["encoder_page_view"] = "Example"
    at.run()
    index = data.n_train + 1
    at.selectbox(key="encoder_page_example_text").set_value(index).run()
    at.selectbox(key=f"encoder_page_ex_{index}_token").set_value(2).run()
    bars = chart_titled(at, "Features firing on")
    assert int(_values(bars["data"][0]["customdata"])[0]) == int(np.argmax(codes[np.flatnonzero(text == index)[2]]))
    # Quality: the cosines in the table, and each held-out text's cosine spliced (up) vs zeroed (across) averaging to the JSON's
    at.session_state["encoder_page_view"] = "Quality"
    at.run()
    assert not at.exception and not at.error, texts(at.error)
    quality = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    assert dict(zip(quality["metric"], quality["value"]))["sentence-embedding cosine, SAE spliced in"] == f"{expected['cosine_sae']:.4f}"
    assert chart_titled(at, "The sentence embedding with the SAE spliced in")
    per_text = chart_titled(at, "Each held-out text's sentence-embedding cosine")
    spliced, zeroed = _values(per_text["data"][1]["y"]), _values(per_text["data"][1]["x"])
    assert len(spliced) == len(data.texts) - data.n_train
    assert float(spliced.mean()) == pytest.approx(expected["cosine_sae"], abs=1e-5) and float(zeroed.mean()) == pytest.approx(expected["cosine_zero"], abs=1e-5)
