"""A user's texts for a Hugging Face text model: a ``.txt`` (one text a line), a ``.jsonl`` (one JSON
object a line with a ``text`` field, an optional ``label`` and optional ``concepts``, an object of
concept names with 0 or 1, for TCAV) or a CSV with a text column (``text``,
or the only column of words) and an optional label column (``--target``, else ``label``).

``read_texts`` reads the file within the upload limit and says in one sentence what is wrong (an
empty file, a file that is not UTF-8, no text column, a line that is not a JSON object, labels on
some lines only); a long text is not refused: the tokenizer truncates it. ``encode_texts`` turns the
texts into a Dataset of token ids (n, tokens) padded with the tokenizer's pad id and truncated to
``max_length``; the texts themselves stay in ``extras["texts"]`` (train texts first, then test).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interp_core.data.dataset import Dataset, encode_labels, split_arrays
from interp_core.data.userfiles import MAX_CLASSES, MIN_EXAMPLES, read_file_bytes, safe_name
from interp_core.errors import DataError
from interp_core.safejson import load_json_limited

TEXT_SUFFIXES = (".txt", ".jsonl")  # a CSV is texts when it has a text column (is_text_csv)
DEFAULT_MAX_TEXTS = 20_000
TEXT_COLUMN, LABEL_COLUMN, CONCEPTS_FIELD = "text", "label", "concepts"


def max_texts() -> int:
    """How many texts a file may hold; INTERP_MAX_TEXTS overrides 20,000 (each is run through the model)."""
    value = os.environ.get("INTERP_MAX_TEXTS")
    return int(value) if value else DEFAULT_MAX_TEXTS


@dataclass
class Texts:
    """The texts of a file and their labels (None when the file has none)."""

    name: str
    texts: list[str]
    labels: list | None
    concepts: np.ndarray | None = None  # (n, k) 0/1, from a .jsonl's "concepts" objects
    concept_names: list[str] | None = None


def is_text_file(filename: str) -> bool:
    return Path(str(filename)).suffix.lower() in TEXT_SUFFIXES


def read_texts(source, filename: str | None = None, target: str | None = None) -> Texts:
    """The texts (and labels) of a .txt, .jsonl or CSV file (a path or bytes); DataError in one sentence otherwise."""
    raw, filename = read_file_bytes(source, filename)
    name = Path(filename).name
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"'{name}' is not UTF-8 text (byte {exc.start} cannot be decoded); save it as UTF-8.") from None
    suffix = Path(name).suffix.lower()
    concepts = None
    if suffix == ".txt":
        texts, labels = [line.strip() for line in text.splitlines() if line.strip()], None
    elif suffix == ".jsonl":
        texts, labels, concepts = _jsonl(text, name)
    elif suffix == ".csv":
        texts, labels = _csv(raw, name, target)
    else:
        raise DataError(f"'{name}' is not a .txt, .jsonl or .csv file; expected texts: one a line (.txt), JSON lines with a 'text' field, or a CSV with a 'text' column.")
    if not texts:
        raise DataError(f"'{name}' holds no text; expected at least {MIN_EXAMPLES} non-empty texts.")
    if len(texts) < MIN_EXAMPLES:
        raise DataError(f"'{name}' holds {len(texts)} texts; expected at least {MIN_EXAMPLES}.")
    if len(texts) > max_texts():
        raise DataError(f"'{name}' holds {len(texts):,} texts, over the limit of {max_texts():,}; use fewer texts or raise INTERP_MAX_TEXTS.")
    if concepts is not None:
        names = list(concepts[0])
        return Texts(name, texts, labels, np.array([[row[c] for c in names] for row in concepts], dtype=np.float32), names)
    return Texts(name, texts, labels)


def _concepts(value, number: int, name: str, first: dict | None) -> dict:
    """A line's "concepts": {name: 0 or 1}, with the first line's names."""
    if not isinstance(value, dict) or not value or not all(isinstance(k, str) and v in (0, 1) and not isinstance(v, float) for k, v in value.items()):
        raise DataError(f"Line {number} of '{name}' has concepts {str(value)[:60]!r}; expected an object of concept names with 0 or 1, such as {{\"praise\": 1, \"negation\": 0}}.")
    if first is not None and set(value) != set(first):
        raise DataError(f"Line {number} of '{name}' names concepts {', '.join(sorted(value))[:80]} but line 1 names {', '.join(sorted(first))[:80]}; expected the same concepts on every line.")
    return {k: int(v) for k, v in value.items()}


def _jsonl(text: str, name: str) -> tuple[list[str], list | None, list[dict] | None]:
    texts, labels, concepts = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        record = load_json_limited(line, f"Line {number} of '{name}'", max_depth=2)
        if not isinstance(record, dict) or not isinstance(record.get(TEXT_COLUMN), str):
            raise DataError(f"Line {number} of '{name}' has no 'text' string; expected one JSON object a line such as {{\"text\": \"...\", \"label\": \"positive\"}}.")
        label = record.get(LABEL_COLUMN)
        if label is not None and (isinstance(label, bool) or not isinstance(label, (str, int))):
            raise DataError(f"Line {number} of '{name}' has a label {str(label)[:40]!r}; expected a class name or a whole number.")
        if CONCEPTS_FIELD in record or concepts:
            if CONCEPTS_FIELD not in record:
                raise DataError(f"Line {number} of '{name}' has no concepts but earlier lines do; expected concepts on every line or on none.")
            concepts.append(_concepts(record[CONCEPTS_FIELD], number, name, concepts[0] if concepts else None))
        texts.append(record[TEXT_COLUMN])
        labels.append(label)
    if concepts and len(concepts) != len(texts):
        raise DataError(f"'{name}' gives concepts on {len(concepts)} of its {len(texts)} lines; expected concepts on every line or on none.")
    given = sum(label is not None for label in labels)
    if 0 < given < len(labels):
        first = next(i for i, label in enumerate(labels) if label is None)
        raise DataError(f"'{name}' gives a label on {given} of its {len(labels)} lines (text {first + 1} has none); expected a label on every line or on none.")
    return texts, (labels if given else None), (concepts or None)


def is_text_csv(source, filename: str | None = None) -> bool:
    """Whether a CSV's first rows have a column of words (so it is texts, not a table of numbers)."""
    import pandas as pd

    raw, _ = read_file_bytes(source, filename)
    try:
        head = pd.read_csv(io.BytesIO(raw), nrows=50)
    except Exception:  # noqa: BLE001 - an unreadable CSV is the table reader's sentence to say
        return False
    return any(not pd.api.types.is_numeric_dtype(head[c]) for c in head.columns)


def _csv(raw: bytes, name: str, target: str | None) -> tuple[list[str], list | None]:
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"'{name}' could not be read as a CSV table ({str(exc).strip().splitlines()[0][:100] if str(exc).strip() else type(exc).__name__}); expected comma-separated values with a header row.") from None
    columns = [str(c) for c in frame.columns]
    label = target if target is not None else (LABEL_COLUMN if LABEL_COLUMN in columns else None)
    if label is not None and label not in columns:
        raise DataError(f"'{name}' has no column '{label}'; its columns are: {', '.join(columns[:20])}.")
    lowered = {c.lower(): c for c in columns}
    if TEXT_COLUMN in lowered:
        text_column = lowered[TEXT_COLUMN]
    else:
        words = [c for c in columns if c != label and not pd.to_numeric(frame[c], errors="coerce").notna().all()]
        if len(words) != 1:
            raise DataError(f"'{name}' has no text column; name the column of texts 'text' (its columns are: {', '.join(columns[:20])}).")
        text_column = words[0]
    keep = frame[text_column].str.strip() != ""
    texts = frame.loc[keep, text_column].tolist()
    labels = frame.loc[keep, label].tolist() if label is not None else None
    if labels is not None and any(v == "" for v in labels):
        raise DataError(f"'{name}' has {sum(v == '' for v in labels)} empty value(s) in label column '{label}'; expected a label in every row.")
    return texts, labels


def max_tokens(tokenizer, config_max: int | None) -> int:
    """The model's longest input: the smaller of the config's positions and the tokenizer's limit."""
    limits = [int(v) for v in (config_max, getattr(tokenizer, "model_max_length", None)) if isinstance(v, int) and 0 < v < 1_000_000]
    return min(limits) if limits else 512


def encode_texts(texts: Texts, tokenizer, max_length: int, labels: np.ndarray | None = None) -> Dataset:
    """Token ids (n, tokens) of ``texts``, padded to the longest and truncated to ``max_length``, as a Dataset.

    ``labels`` (class indices) stand in for the file's when it has none (the model's predictions)."""
    ids = token_ids(tokenizer, texts.texts, max_length)
    if labels is not None:
        y, class_names = np.asarray(labels, dtype=np.int64), None
    elif texts.labels is not None:
        y, class_names = encode_labels(np.asarray([str(v) for v in texts.labels]))
        if len(class_names) < 2:
            raise DataError(f"'{texts.name}' has a single label ({class_names[0]!r}); expected at least two classes, or no labels at all.")
        if len(class_names) > MAX_CLASSES:
            raise DataError(f"'{texts.name}' has {len(class_names)} distinct labels; expected at most {MAX_CLASSES} classes.")
    else:
        raise DataError(f"'{texts.name}' has no labels; give labels or the model's predictions.")
    order = np.arange(len(ids))
    X_train, X_test, y_train, y_test, o_train, o_test, c_train, c_test = split_arrays(ids.astype(np.float32), y, order, texts.concepts)
    if class_names is None:
        class_names = [str(k) for k in range(int(y.max()) + 1)]
    return Dataset(
        name=safe_name(texts.name), modality="tabular", X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        class_names=class_names, description=f"Uploaded texts {texts.name}", source=f"user file {texts.name}",
        concepts_train=c_train, concepts_test=c_test, concept_names=texts.concept_names,
        extras={"texts": [texts.texts[int(i)] for i in np.concatenate([o_train, o_test])], "labelled": texts.labels is not None},
    )


def token_ids(tokenizer, texts: list[str], max_length: int) -> np.ndarray:
    """(n, tokens) ids, padded to the longest text with the tokenizer's pad id, cut at ``max_length``."""
    if getattr(tokenizer, "pad_token", None) is None and getattr(tokenizer, "eos_token", None) is not None:
        tokenizer.pad_token = tokenizer.eos_token  # GPT-2's tokenizers have no pad token
    encoded = tokenizer(list(texts), padding="longest", truncation=True, max_length=max_length, return_tensors="np")
    return np.asarray(encoded["input_ids"], dtype=np.int64)


__all__ = ["TEXT_SUFFIXES", "Texts", "encode_texts", "is_text_csv", "is_text_file", "max_texts", "max_tokens", "read_texts", "token_ids"]
