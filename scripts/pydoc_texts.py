"""Labelled texts from Python's own reference documentation, for trying a user's text model offline.

    python scripts/pydoc_texts.py OUT.jsonl [--per-topic 40] [--seed 0]

Writes one JSON line per sentence, {"text": ..., "label": TOPIC}, from six pages of
``pydoc_data.topics`` (the standard library's copy of the language reference): the sentences of
each page (30-300 characters, whitespace collapsed), at most ``--per-topic`` from each, shuffled
with ``--seed``. docs/sae.md measures an encoder's SAE (MiniLM's folder as a BertModel) on it.
"""

from __future__ import annotations

import argparse
import json
import random
import re

import pydoc_data.topics

TOPICS = ("try", "import", "class", "for", "lambda", "while")


def sentences(topic: str) -> list[str]:
    text = re.sub(r"\s+", " ", pydoc_data.topics.topics[topic]).strip()
    return [part for part in re.split(r"(?<=[.!?])\s+", text) if 30 <= len(part) <= 300]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--per-topic", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = [{"text": s, "label": topic} for topic in TOPICS for s in sentences(topic)[: args.per_topic]]
    random.Random(args.seed).shuffle(rows)
    with open(args.out, "w", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)
    print(f"{len(rows)} sentences of {len(TOPICS)} topics in {args.out}")


if __name__ == "__main__":
    main()
