"""Precision and recall of the personal-data detector on the labelled French sentences.

Also: what it finds in the 157 official pages of the demo base (regulation texts, no
household: every finding there is a false alarm) and how long a scan takes.

    .venv/bin/python bench/privacy_detection.py [--errors]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge import privacy  # noqa: E402

LABELLED = ROOT / "tests" / "data" / "privacy-labelled.jsonl"
DEMO = ROOT / "knowledge" / "data" / "demo-kb.jsonl"


def load(path: Path = LABELLED) -> list[tuple[str, list[privacy.Expected]]]:
    """Read the labelled sentences."""
    samples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            samples.append((row["text"], [privacy.Expected(kind=s["kind"], text=s["text"])
                                          for s in row["spans"]]))
    return samples


def table(scores: dict[str, privacy.Score]) -> str:
    """The scores as a Markdown table."""
    lines = ["| type | étiquetés | trouvés | justes | bornes exactes | précision | rappel |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for kind, score in scores.items():
        labelled = score.true_positives + score.false_negatives
        found = score.true_positives + score.false_positives
        lines.append(f"| {kind} | {labelled} | {found} | {score.true_positives} | "
                     f"{score.exact} | {score.precision:.2f} | {score.recall:.2f} |")
    return "\n".join(lines)


def main() -> None:
    """Print the table (and the mistakes with --errors)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--errors", action="store_true", help="list each mistake")
    args = parser.parse_args()
    samples = load()
    scores, misses = privacy.evaluate(samples)
    print(f"{len(samples)} phrases, {sum(1 for _, s in samples if s)} avec données "
          f"personnelles, {sum(len(s) for _, s in samples)} passages étiquetés")
    print(table(scores))
    pages = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    texts = [page["question"] + "\n" + page["answer"] for page in pages]
    privacy.scan("M. Dupont")  # loads the first names once, outside the measure
    started = time.process_time()
    alarms = [finding for text in texts for finding in privacy.scan(text)]
    spent = time.process_time() - started
    characters = sum(len(text) for text in texts)
    print(f"\nPages officielles de la base de démonstration : {len(texts)} pages, "
          f"{characters} caractères, {len(alarms)} fausse(s) alerte(s) "
          f"{privacy.counts(alarms) or ''}")
    print(f"Temps CPU d'analyse : {spent * 1000 / len(texts):.2f} ms par page, "
          f"{characters / spent / 1000:.0f} k caractères/s (charge {os.getloadavg()[0]:.1f})")
    if args.errors:
        for miss in misses:
            what = "faux positif" if miss.false_positive else "manqué"
            print(f"- {what} {miss.kind} « {miss.span} » dans : {miss.text}")


if __name__ == "__main__":
    main()
