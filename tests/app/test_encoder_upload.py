"""Home's "Bring your own model" with a Hugging Face encoder (issue 17), in AppTest through the real upload inputs: a
tiny BertModel (no head) built here, zipped, and labelled texts. The box maps the texts at a picked block (each text
the mean of its tokens' vectors, coloured by label), selects a text, trains an SAE on a block with the quality numbers
the engine gives (the sentence embedding's cosines), its features and one feature's tokens in context; the SAE
features page's own model picker lists the encoder and shows the same SAE."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch

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
    from interp_core.families.sae.saelens import load_saelens_sae
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
    # the SAE on the default block, as the engine trains it
    at.button(key="encoder_train").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    expected = explain_text_model(loaded, data, Store(tmp_path / "store"))
    assert metric(at, "L0") == f"{expected['l0']:.1f}" and metric(at, "Explained variance") == f"{expected['explained_variance']:.3f}"
    assert metric(at, "Embedding cosine") == f"{expected['cosine_sae']:.3f}" and metric(at, "Cosine, block zeroed") == f"{expected['cosine_zero']:.3f}"
    table = next(d.value for d in at.dataframe if "fires on" in d.value.columns)
    assert table["feature"].tolist() == [row["feature"] for row in expected["features"]]
    feature = expected["features"][0]["feature"]  # the feature picked first: its strongest token, in context
    sae = load_saelens_sae(expected["sae_path"]).eval()
    acts, text, position = lm.token_activations(lm.text_model(loaded), data.ids)
    with torch.no_grad():
        column = sae.encode(torch.as_tensor(acts))[:, feature].numpy()
    top = int(np.argmax(column))
    html = " ".join(str(m.value) for m in at.markdown)
    assert f"<code>{float(column[top]):6.2f}</code>" in html and lm.token_labels(loaded.tokenizer, [int(data.ids[text[top], position[top]])])[0] in html
    # the SAE page's own picker: the encoder, its SAE already trained in this session
    at.switch_page("views/sae.py")
    at.run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="sae_foreign_model")
    assert picker.value == "tiny-bert (encoder, on reviews.jsonl)"
    assert at.selectbox(key="encoder_page_layer").options == lm.blocks(lm.text_model(loaded).tree)
    assert metric(at, "Embedding cosine") == f"{expected['cosine_sae']:.3f}"
    assert next(d.value for d in at.dataframe if "fires on" in d.value.columns)["feature"].tolist() == table["feature"].tolist()
    assert not at.error, texts(at.error)
