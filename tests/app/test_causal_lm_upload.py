"""Home's "Bring your own model" with a causal language model (issues 17 and 18), in AppTest through the
real upload inputs: a tiny GPT-2 built here (zipped folder) and its texts; the box shows the loss,
perplexity and next-token accuracy the engine measures, the next-token top-5 of a text, then trains an
SAE on a block and steers a feature on typed text (before/after bars and two continuations), on Home and
on the SAE features page."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest
import torch

from tests.app.test_uploads import metric, open_page, texts, upload


@pytest.fixture(scope="module")
def gpt_zip(tmp_path_factory):
    pytest.importorskip("transformers")
    from tests.foreign_models import tiny_gpt2

    root = tmp_path_factory.mktemp("gpt")
    _model, _tokenizer, lines = tiny_gpt2(root / "tiny-gpt")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in (root / "tiny-gpt").iterdir():
            archive.write(path, f"tiny-gpt/{path.name}")
    return buffer.getvalue(), "\n".join(lines).encode(), root / "tiny-gpt"


def test_a_causal_lm_is_measured_and_steered_on_home(app, gpt_zip):
    from interp_core import causal_lm as lm
    from interp_core.modelfiles import load_model_path

    model_zip, lines, folder = gpt_zip
    at = open_page(app)
    upload(at, "upload_model", "tiny-gpt.zip", model_zip)
    assert not at.error, texts(at.error)
    assert "causal language model" in " ".join(str(c.value) for c in at.caption)  # not the classifier's layer picker
    upload(at, "upload_model_data", "texts.txt", lines)
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    loaded = load_model_path(folder)
    data = lm.lm_texts(loaded, lines, "texts.txt")
    expected = lm.lm_metrics(lm.causal_lm(loaded), data.ids)
    assert metric(at, "Perplexity") == f"{expected['perplexity']:.2f}" and metric(at, "Next-token accuracy") == f"{expected['next_token_accuracy']:.3f}"
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    top5 = next(c for c in charts if c["layout"]["title"]["text"].startswith("Next token after text 0"))
    with torch.no_grad():
        probs = torch.softmax(lm.causal_lm(loaded)(torch.as_tensor(data.ids[:1]))[0], -1)
    assert top5["data"][0]["y"][0] == pytest.approx(float(probs.max()), abs=1e-6) and len(top5["data"][0]["y"]) == 5
    assert top5["layout"]["xaxis"]["title"]["text"] == "next token" and top5["layout"]["yaxis"]["title"]["text"] == "probability"
    assert any("How to read this:" in str(c.value) for c in at.caption)
    at.button(key="causal_lm_train").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert 0 < float(metric(at, "L0")) <= 4
    at.text_input(key="causal_lm_steer_text").set_value("the film was").run()
    at.selectbox(key="causal_lm_steer_mode").set_value("scale it").run()
    at.number_input(key="causal_lm_steer_value_scale").set_value(1.0).run()  # "no change": before and after are the same bars
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    steered = next(c for c in charts if c["layout"]["title"]["text"].startswith("Feature "))
    assert steered["data"][0]["y"] == steered["data"][1]["y"] and "stays" in steered["layout"]["title"]["text"]
    continuations = [c.value for c in at.code if not c.value.startswith("/?")]  # the sidebar's share link is a code block too
    assert len(continuations) == 2 and continuations[0] == continuations[1] and continuations[0].startswith("the film was")
    at.switch_page("views/sae.py")
    at.run()  # the SAE page offers the same steering for this session's causal-LM SAE, on the Feature view's feature
    assert not at.exception, at.exception
    at.session_state["causal_lm_page_view"] = "Feature"
    at.run()
    at.text_input(key=f"causal_lm_page_f{at.session_state['_causal_lm_page_selected']}_steer_text").set_value("the plot was").run()
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    steered = next(c for c in charts if c["layout"]["title"]["text"].startswith("Feature "))
    assert steered["layout"]["xaxis"]["title"]["text"] == "next token"
    assert [c.value for c in at.code if c.value.startswith("the plot was")]


def measured_on(app, gpt_zip, page: str):
    """The AppTest on ``page`` after Home's box took the tiny GPT-2 and its texts (no SAE trained)."""
    model_zip, lines, _folder = gpt_zip
    at = open_page(app)
    upload(at, "upload_model", "tiny-gpt.zip", model_zip)
    upload(at, "upload_model_data", "texts.txt", lines)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_time_series_page_attributes_a_causal_lms_next_token_as_the_cli_does(app, gpt_zip, tmp_path, capsys):
    """The Time series page, after Home's box measured a causal LM on its texts: the predicted next token of each held-out
    text named in a sentence, its token heat map, and each method's deletion / insertion areas equal to the CLI's."""
    from interp_core import causal_lm as lm
    from interp_core import cli
    from interp_core.modelfiles import load_model_path

    _model_zip, lines, folder = gpt_zip
    at = measured_on(app, gpt_zip, "views/timeseries.py")
    assert not at.error, texts(at.error)
    (tmp_path / "texts.txt").write_bytes(lines)
    code = cli.main(["explain", "attributions", "--model", str(folder), "--data", str(tmp_path / "texts.txt"), "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and out["n_texts"] == 12  # 60 texts, the last fifth held out: fewer than the page's 16, so both attribute the same texts
    table = next(d.value for d in at.dataframe if "deletion_auc" in d.value.columns)
    page = {row["method"]: row for row in table.to_dict("records")}
    from interp_core.families.timeseries.explain.tokens import token_method_label

    assert set(page) == {token_method_label(m) for m in out["methods"]}
    for method, scores in out["methods"].items():
        assert page[token_method_label(method)]["deletion_auc"] == pytest.approx(scores["deletion_auc"], abs=1e-6)
        assert page[token_method_label(method)]["insertion_auc"] == pytest.approx(scores["insertion_auc"], abs=1e-6)
    assert metric(at, "Next-token accuracy") == f"{out['next_token_accuracy']:.3f}" and metric(at, "Texts attributed") == "12"
    first = out["examples"][0]
    loaded = load_model_path(folder)
    with torch.no_grad():
        predicted = lm.token_labels(loaded.tokenizer, [int(lm.causal_lm(loaded)(torch.as_tensor(lm.encode(loaded, [first["text"]]))).argmax())])[0]
    assert predicted == first["class"]
    assert any(f"predicts the next token **{predicted!r}**" in str(m.value) for m in at.markdown)  # the sentence names the predicted token
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    heat = next(c for c in charts if c["layout"]["title"]["text"].startswith("Text 0:"))
    assert f"'{predicted}'" in heat["layout"]["title"]["text"] and heat["data"]
    curves = next(c for c in charts if c["layout"]["title"]["text"].startswith("Masking tokens"))
    assert len(curves["data"]) >= 2 * len(out["methods"]) - 1
    at.selectbox(key="causal_lm_token_text").set_value(2).run()  # another text: its own heat map and sentence
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any(c["layout"]["title"]["text"].startswith("Text 2:") for c in charts)


def test_the_sae_pages_own_picker_trains_a_causal_lms_block_and_shows_its_features(app, gpt_zip, tmp_path, monkeypatch):
    """The SAE page's "Your model" picker lists the causal LM of Home's box: picking a block and pressing the button
    trains the token-level SAE the engine trains (same quality numbers, spliced next-token loss included), then the page's
    four views of it, each checked against the codes read here: Features (one map point per feature, the live features
    in the table, search), Feature (strongest token in context, logit effects, activation histogram, steer panel; another
    feature picked), Example (a token's first bar is its largest code) and Quality (table, splice, per-text loss)."""
    import numpy as np

    from interp_core import causal_lm as lm
    from interp_core.families.sae.causal import explain_causal
    from interp_core.families.sae.saelens import load_saelens_sae
    from interp_core.modelfiles import load_model_path
    from interp_core.store import Store

    from interp_core.families.sae import causal

    read_again = []  # the views draw the reading the training built, not the SAE folder read from scratch (causal.token_sae)
    real = causal.token_sae
    monkeypatch.setattr(causal, "token_sae", lambda *args, **kwargs: (read_again.append(args), real(*args, **kwargs))[1])
    _model_zip, lines, folder = gpt_zip
    at = measured_on(app, gpt_zip, "views/sae.py")
    picker = at.selectbox(key="sae_foreign_model")
    assert "causal language model" in picker.value and picker.value in picker.options
    loaded = load_model_path(folder)
    assert at.selectbox(key="causal_lm_page_layer").options == lm.blocks(lm.causal_lm(loaded).tree)
    at.selectbox(key="causal_lm_page_layer").set_value("transformer.h.0").run()
    at.button(key="causal_lm_page_train").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    data = lm.lm_texts(loaded, lines, "texts.txt")
    expected = explain_causal(loaded, data, Store(tmp_path / "store"), layer="transformer.h.0")
    assert metric(at, "L0") == f"{expected['l0']:.1f}" and metric(at, "Explained variance") == f"{expected['explained_variance']:.3f}"
    assert metric(at, "Loss with the SAE") == f"{expected['loss_sae']:.3f}" and metric(at, "Loss recovered") == f"{expected['loss_recovered']:.3f}"
    width = expected["n_features"]
    sae = load_saelens_sae(expected["sae_path"]).eval()  # the codes, read here on every token's vector of the block
    acts, text, position = lm.token_activations(lm.causal_lm(loaded, "transformer.h.0"), data.ids)
    with torch.no_grad():
        codes = sae.encode(torch.as_tensor(acts)).numpy()
    density = (codes > 0).mean(0)
    # Features: the map has one point per feature (its customdata the feature a click opens), the table lists the live ones
    assert at.session_state["causal_lm_page_view"] == "Features" and not read_again
    assert [h.value for h in at.subheader if h.value.startswith("The recipe in use")] == [f"The recipe in use: {at.session_state['recipe']}"]  # two SAEs on the page: which is below
    feature_map = chart_titled(at, "Feature map (PCA)")
    points = sorted(int(j) for trace in feature_map["data"] if trace.get("name") != f"feature {int(np.argmax(density))}" for j in _values(trace["customdata"]))
    assert points == list(range(width))
    table = next(d.value for d in at.dataframe if "mean_activation" in d.value.columns)
    assert sorted(table["feature"].tolist()) == np.flatnonzero(density > 0).tolist()
    assert table["density"].to_numpy() == pytest.approx(density[table["feature"].to_numpy()], abs=1e-6)
    assert chart_titled(at, "Feature density")
    at.text_input(key="causal_lm_page_search").set_value(expected["features"][0]["label"].split(" / ")[0]).run()  # search by its top token
    table = next(d.value for d in at.dataframe if "mean_activation" in d.value.columns)
    assert expected["features"][0]["feature"] in table["feature"].tolist() and len(table) <= int((density > 0).sum())
    # Feature: the densest feature first, its strongest token in context, its logit effects and activation histogram, the steer panel
    at.session_state["causal_lm_page_view"] = "Feature"
    at.run()
    assert not at.exception, at.exception
    feature = expected["features"][0]["feature"]
    assert feature == int(np.argmax(density))
    top = int(np.argmax(codes[:, feature]))
    html = " ".join(str(m.value) for m in at.markdown)
    assert f"<code>{float(codes[top, feature]):6.2f}</code>" in html
    assert lm.token_labels(loaded.tokenizer, [int(data.ids[text[top], position[top]])])[0].strip() in html
    effects = chart_titled(at, "Effect on the outputs")
    assert _values(effects["data"][0]["x"]).tolist() == pytest.approx([t["logit"] for t in expected["features"][0]["promotes"]])
    hist = chart_titled(at, f"Activation histogram of feature {feature}")
    assert int(_values(hist["data"][0]["y"]).sum()) == int((codes[:, feature] > 0).sum()) and hist["layout"]["yaxis"]["title"]["text"] == "tokens"
    assert at.text_input(key=f"causal_lm_page_f{feature}_steer_text").value == data.texts[text[top]]  # the steer panel, on this feature and the text it fires most on
    import re

    intervals = [e.label for e in at.expander if e.label.startswith("Interval ")]  # its firing tokens, ten intervals, each counted
    assert len(intervals) == 10 and sum(int(re.search(r"\((\d+) tokens\)", label).group(1)) for label in intervals) == int((codes[:, feature] > 0).sum())
    other = int(np.argsort(-density, kind="stable")[1])  # another feature picked: its own page
    at.selectbox(key=f"causal_lm_page_feature_{feature}").set_value(other).run()
    assert chart_titled(at, f"Activation histogram of feature {other}")
    # Example: a held-out text token by token; a token's first bar is the feature the engine's codes put highest there
    at.session_state["causal_lm_page_view"] = "Example"
    at.run()
    assert not at.exception, at.exception
    index = data.n_train + 1
    at.selectbox(key="causal_lm_page_example_text").set_value(index).run()
    rows = np.flatnonzero(text == index)
    at.selectbox(key=f"causal_lm_page_ex_{index}_token").set_value(2).run()
    bars = chart_titled(at, "Features firing on")
    assert int(_values(bars["data"][0]["customdata"])[0]) == int(np.argmax(codes[rows[2]]))
    assert len(_values(bars["data"][0]["x"])) == min(20, int((codes[rows[2]] > 0).sum()))
    at.radio(key="causal_lm_page_example_mode").set_value("Your own text").run()  # a typed text: its own tokens and codes
    typed = "the actor was dull and the plot was great"
    at.text_area(key="causal_lm_page_free_text").set_value(typed).run()
    x = torch.as_tensor(lm.encode_text(loaded, typed))
    with torch.no_grad():
        own = sae.encode(lm.causal_lm(loaded, "transformer.h.0").token_acts(x)[0]).numpy()
    at.selectbox(key=f"causal_lm_page_free_{hash(typed)}_token").set_value(3).run()
    bars = chart_titled(at, "Features firing on")
    assert int(_values(bars["data"][0]["customdata"])[0]) == int(np.argmax(own[3])) and "(token 3)" in bars["layout"]["title"]["text"]
    # Quality: the quality table, the splice, the density histogram and each held-out text's loss, clean as the CLI's test_texts
    at.session_state["causal_lm_page_view"] = "Quality"
    at.run()
    assert not at.exception, at.exception
    quality = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    assert dict(zip(quality["metric"], quality["value"]))["next-token loss, SAE spliced in"] == f"{expected['loss_sae']:.4g}"
    per_text = chart_titled(at, "Each held-out text")
    assert _values(per_text["data"][1]["x"]).tolist() == pytest.approx([t["loss"] for t in expected["test_texts"] if t["loss"] is not None], abs=1e-5)
    assert chart_titled(at, "The model with the SAE spliced in") and chart_titled(at, "Feature density")
    assert not at.error, texts(at.error)


def _values(data):
    """A plotly spec's array: a list, or a typed array (base64 of the values)."""
    import numpy as np

    return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]) if isinstance(data, dict) else np.asarray(data)


def chart_titled(at, start: str) -> dict:
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [c for c in charts if c["layout"]["title"]["text"].startswith(start)]
    assert found, [c["layout"]["title"]["text"] for c in charts]
    return found[0]


def test_the_sae_page_opens_an_saelens_folder_on_a_causal_lms_block_and_refuses_a_wrong_width(app, gpt_zip, tmp_path):
    """Instead of training, the panel opens a zipped SAELens folder on the picked block: the same numbers as `explain sae
    --model ... --sae` on that block and the four views on it; an SAE whose d_in is not the block's width, and a folder
    without cfg.json, are one sentence each (the width's naming both) and leave the button there."""
    from interp_core import causal_lm as lm
    from interp_core.families.sae.causal import explain_causal
    from interp_core.families.sae.saelens import export_sae
    from interp_core.families.sae.train import make_sae
    from interp_core.modelfiles import load_model_path
    from interp_core.store import Store
    from tests.app.test_foreign_layers import _zipped

    _model_zip, lines, folder = gpt_zip
    loaded = load_model_path(folder)
    data = lm.lm_texts(loaded, lines, "texts.txt")
    trained = Path(explain_causal(loaded, data, Store(tmp_path / "store"), layer="transformer.h.0")["sae_path"])  # an SAELens folder, for block 0
    export_sae(make_sae("topk", 8, {"width": 16, "k": 2}), tmp_path / "narrow", hook_name="transformer.h.1")
    at = measured_on(app, gpt_zip, "views/sae.py")
    at.selectbox(key="causal_lm_page_layer").set_value("transformer.h.1").run()

    def opened(name: str, source: Path, drop: str = ""):
        upload(at, "causal_lm_page_saelens_zip", f"{name}.zip", _zipped({f"{name}/{p.name}": p.read_bytes() for p in source.iterdir() if p.name != drop}))
        at.button(key="causal_lm_page_open").click().run()
        assert not at.exception, at.exception
        return [e.value for e in at.error]

    errors = opened("narrow", tmp_path / "narrow")
    assert len(errors) == 1 and "reads 8 values per token" in errors[0] and "gives 16" in errors[0] and "--sae" not in errors[0], errors
    errors = opened("halves", trained, drop="cfg.json")
    assert len(errors) == 1 and errors[0].startswith("'halves' has no cfg.json"), errors
    assert at.button(key="causal_lm_page_train") and not at.session_state["_causal_lm_saes"]  # nothing opened
    assert not opened("mine", trained), texts(at.error)  # a block-0 SAE on block 1: same width, so it opens, and is measured there
    expected = explain_causal(loaded, data, Store(tmp_path / "store"), layer="transformer.h.1", sae_path=trained)
    assert metric(at, "L0") == f"{expected['l0']:.1f}" and metric(at, "Loss with the SAE") == f"{expected['loss_sae']:.3f}"
    assert "the SAELens SAE 'mine', opened here" in " ".join(str(c.value) for c in at.caption)
    assert chart_titled(at, "Feature map (PCA)")
    for view in ("Feature", "Example", "Quality"):
        at.session_state["causal_lm_page_view"] = view
        at.run()
        assert not at.exception and not at.error, (view, texts(at.error))
    at.button(key="causal_lm_page_another").click().run()  # back to the choice: train or open
    assert at.button(key="causal_lm_page_train") and at.button(key="causal_lm_page_open")
