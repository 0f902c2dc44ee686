"""The SAE page on the user's own model (issue 17), in AppTest: a .pt2 stored with Home's model box is
offered on the SAE page with a layer picker; training an SAE on the picked layer opens it like any SAE
recipe. The model is built here (torch.export.save); nothing is downloaded."""

from __future__ import annotations

import io

import numpy as np
import torch

from tests.app.test_uploads import npz, open_page, texts, upload
from tests.foreign_models import table_data, trained_mlp


def _pt2(model, example) -> bytes:
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},)), buffer)
    return buffer.getvalue()


def test_the_sae_page_trains_an_sae_on_a_picked_layer_of_the_user_s_model(app):
    X, y, _ = table_data(300)
    model = trained_mlp(X, y)
    at = open_page(app)
    upload(at, "upload_model", "mlp.pt2", _pt2(model, torch.as_tensor(X[:4])))
    upload(at, "upload_model_data", "table.npz", npz(X=X, y=y))
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    at.switch_page("views/sae.py")
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="sae_foreign_model").value == "upload-mlp-model"
    picker = at.selectbox(key="sae_foreign_layer")
    assert picker.value == "1" and "0: Linear (2, 16)" in picker.options  # each layer with its shape on the data
    at.button(key="sae_foreign_train").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert at.sidebar.selectbox(key="recipe").value == "upload-mlp-model-sae-1"
    assert "Layer '1' of mlp.pt2" in texts(at.markdown)
    assert "explained variance" in texts(at.success)
    at.segmented_control(key="v_view").set_value("Feature").run()
    assert not at.exception, at.exception
    at.segmented_control(key="v_view").set_value("Quality").run()
    assert not at.exception, at.exception
    at.segmented_control(key="v_view").set_value("Example").run()
    assert not at.exception, at.exception
    assert "predicts" in texts(at.markdown)  # the model's output, clean and with the SAE spliced in


def test_concepts_and_prototypes_pages_explain_a_picked_layer_of_the_user_s_model(app):
    X, y, concepts = table_data(300)
    model = trained_mlp(X, y)
    at = open_page(app)
    upload(at, "upload_model", "mlp.pt2", _pt2(model, torch.as_tensor(X[:4])))
    upload(at, "upload_model_data", "concepts.npz", npz(X=X, y=y, concepts=concepts, concept_names=np.array(["x0 high", "x5 high"])))
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    at.switch_page("views/concepts.py")
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="concepts_foreign_layer").set_value("0").run()
    at.number_input(key="concepts_foreign_runs").set_value(3).run()
    at.button(key="concepts_foreign_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    tables = [t.value for t in at.dataframe]
    tcav = next(t for t in tables if "concept" in t.columns and "score" in t.columns)
    assert set(tcav["concept"]) == {"x0 high", "x5 high"} and set(tcav["layer"]) == {"0"}
    at.switch_page("views/prototypes.py")
    at.run()
    assert not at.exception, at.exception
    at.button(key="prototypes_foreign_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    agreement = next(m.value for m in at.metric if m.label == "Agreement with your model")
    assert agreement.endswith("%") and 0 <= float(agreement[:-1]) <= 100
    rows = next(t.value for t in at.dataframe if "training example" in t.value.columns)
    assert len(rows) == 6 and set(rows["class"]) == {"0", "1", "2"}
