"""Labels with a confidence (issue 18 item 4): each feature's label as a detector of when it fires,
judged on held-out examples, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from interp_core.families.sae import explain


def codes_from_dense(dense: np.ndarray) -> explain.Codes:
    matrix = csr_matrix(dense.astype(np.float32))
    return explain.Codes(matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64), matrix.data, dense.shape[1])


# 7 examples (the first 3 train the labels, the last 4 are held out), 3 features, 2 classes.
DENSE = np.array([
    [1.0, 0.0, 0.5],  # train, class 1
    [2.0, 0.0, 0.0],  # train, class 1
    [0.5, 1.0, 0.0],  # train, class 0
    [0.7, 0.0, 0.0],  # held out, class 1
    [0.3, 0.0, 0.0],  # held out, class 0
    [0.9, 0.0, 0.0],  # held out, class 1
    [0.0, 0.4, 0.0],  # held out, class 1
])
CLASSES = np.array([1, 1, 0, 1, 0, 1, 1])


def test_class_labels_are_read_from_training_rows_and_judged_on_held_out_ones():
    codes = codes_from_dense(DENSE)
    labels = explain.feature_labels(codes.head(3), "image", example_labels=CLASSES, label_names=["zero", "one"])
    # feature 0 on training rows: 3.0 of its activation on class 1, 0.5 on class 0; feature 1: only class 0;
    # feature 2: class 1. (Over all rows feature 1 would lean to class 1 too: 0.4 vs 1.0, still class 0.)
    assert labels.text == ["class one (86%)", "class zero (100%)", "class one (100%)"]
    assert labels.values == [[1], [0], [1]]
    confidence = explain.label_confidence(codes, labels.values, explain.one_hot(CLASSES, 2), np.arange(3, 7))
    # Held out: feature 0 fires on rows 3, 4, 5 (classes 1, 0, 1); class 1 is on rows 3, 5, 6.
    assert confidence["label_precision"][0] == pytest.approx(2 / 3)
    assert confidence["label_recall"][0] == pytest.approx(2 / 3)
    assert confidence["label_support"][0] == 3
    # feature 1 fires on row 6 (class 1) but is labelled class 0 (present on row 4 only): 0 and 0.
    assert confidence["label_precision"][1] == 0.0 and confidence["label_recall"][1] == 0.0
    # feature 2 never fires on a held-out row: precision undefined, recall 0 of the 3 class-1 rows.
    assert math.isnan(confidence["label_precision"][2]) and confidence["label_recall"][2] == 0.0 and confidence["label_support"][2] == 0


def test_a_label_of_several_tokens_is_present_when_any_of_them_is():
    codes = codes_from_dense(DENSE[:, :1])
    tokens = np.array([5, 5, 9, 9, 7, 5, 8])
    confidence = explain.label_confidence(codes, [[5, 9]], explain.one_hot(tokens, 10), np.arange(3, 7))
    # held out rows 3..6 have tokens 9, 7, 5, 8; the feature fires on 3, 4, 5: label present on 3 and 5.
    assert confidence["label_precision"][0] == pytest.approx(2 / 3) and confidence["label_recall"][0] == pytest.approx(1.0)


def test_true_feature_labels_are_present_when_that_true_feature_is_on():
    codes = codes_from_dense(DENSE[:, :2])
    cos = np.array([[0.9, 0.1], [0.2, -0.95], [0.1, 0.3]])  # (true features, latents)
    labels = explain.feature_labels(codes, "toy", recovery_cos=cos, label_names=["a", "b", "c"])
    assert labels.text == ["a (cos 0.90)", "b (cos 0.95)"] and labels.values == [[0], [1]]
    on = csr_matrix(np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0]]))
    confidence = explain.label_confidence(codes, labels.values, on, np.arange(3, 7))
    # latent 0 fires on 3, 4, 5; true feature a is on in row 3 only: precision 1/3, recall 1/1.
    assert confidence["label_precision"][0] == pytest.approx(1 / 3) and confidence["label_recall"][0] == 1.0
    # latent 1 fires on 6; b is on in rows 3 and 6: precision 1, recall 1/2.
    assert confidence["label_precision"][1] == 1.0 and confidence["label_recall"][1] == 0.5


def test_the_words_follow_the_numbers():
    assert "Trust the label" in explain.label_trust(0.95, 0.8, 200)
    assert "Do not trust" in explain.label_trust(0.3, 0.8, 200)
    assert "most firings" in explain.label_trust(0.7, 0.5, 200) and "narrow" not in explain.label_trust(0.7, 0.5, 200)
    assert "narrow detector" in explain.label_trust(0.95, 0.1, 200)
    assert "Too few" in explain.label_trust(1.0, 1.0, 3)
    assert "Not measured" in explain.label_trust(float("nan"), 0.0, 0)
    assert "95%" in explain.label_trust(0.95, 0.8, 200)


def test_the_table_stores_and_reads_back_the_confidence():
    codes = codes_from_dense(DENSE)
    labels = explain.feature_labels(codes.head(3), "image", example_labels=CLASSES, label_names=["zero", "one"])
    confidence = explain.label_confidence(codes, labels.values, explain.one_hot(CLASSES, 2), np.arange(3, 7))
    analysis = explain.SAEAnalysis(metrics={}, codes=codes, features=explain.feature_table(codes, labels.text, confidence))
    files = analysis.to_files()
    again = explain.SAEAnalysis.from_files(*(files[name] for name in explain.SAEAnalysis.FILES))
    assert np.allclose(again.features["label_precision"], confidence["label_precision"], equal_nan=True)
    assert again.features["label_support"].tolist() == [3, 1, 0]
    old = {**files[explain.SAEAnalysis.FILES[2]]}
    for key in explain.CONFIDENCE_COLUMNS:
        old.pop(key)
    before = explain.SAEAnalysis.from_files(files[explain.SAEAnalysis.FILES[0]], files[explain.SAEAnalysis.FILES[1]], old)  # an artifact from before the confidence
    assert before.features["label_precision"].isna().all() and (before.features["label_support"] == 0).all()


def test_the_table_filters_by_label_precision():
    from interp_core.families.sae.sections import feature_rows

    codes = codes_from_dense(DENSE)
    labels = explain.feature_labels(codes.head(3), "image", example_labels=CLASSES, label_names=["zero", "one"])
    confidence = explain.label_confidence(codes, labels.values, explain.one_hot(CLASSES, 2), np.arange(3, 7))
    table = explain.feature_table(codes, labels.text, confidence)
    assert feature_rows(table)["feature"].tolist() == [0, 1, 2]
    assert feature_rows(table, min_precision=0.5)["feature"].tolist() == [0]  # 2/3; feature 1 has 0, feature 2 is unmeasured
    assert feature_rows(table, min_precision=0.7).empty
