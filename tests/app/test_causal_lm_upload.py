"""Home's "Bring your own model" with a causal language model (issues 17 and 18), in AppTest through the
real upload inputs: a tiny GPT-2 built here (zipped folder) and its texts; the box shows the loss,
perplexity and next-token accuracy the engine measures, the next-token top-5 of a text, then trains an
SAE on a block and steers a feature on typed text (before/after bars and two continuations), on Home and
on the SAE features page."""

from __future__ import annotations

import io
import json
import zipfile

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
    at.run()  # the SAE page offers the same steering for this session's causal-LM SAE
    assert not at.exception, at.exception
    at.text_input(key="causal_lm_page_steer_text").set_value("the plot was").run()
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    steered = next(c for c in charts if c["layout"]["title"]["text"].startswith("Feature "))
    assert steered["layout"]["xaxis"]["title"]["text"] == "next token"
    assert [c.value for c in at.code if c.value.startswith("the plot was")]
