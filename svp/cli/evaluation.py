"""`svp eval`: measure the search on a labelled set of queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from knowledge.retrieval.evaluation import (
    DecisionQuality,
    EvaluationReport,
    evaluate,
    load_labelled_queries,
)
from svp.cli.base import app, open_knowledge

_MAX_UNKNOWN_SHOWN = 10


@app.command("eval")
def evaluate_command(
    file: Annotated[Path, typer.Argument(
        help="Fichier JSONL étiqueté : une ligne {\"q\": \"...\", \"rel\": [\"F1170\", ...]} "
        "par requête ; rel vide si la bonne réponse est de ne rien proposer.",
        metavar="FICHIER", show_default=False)],
    k: Annotated[int, typer.Option("--k", min=1, help="Nombre de résultats examinés.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON sur une ligne.")] = False,
) -> None:
    """Évalue la recherche sur un jeu de requêtes étiquetées (rappel, MRR, abstention)."""
    # The file is checked before the database and the model are opened: a typo fails fast.
    queries = load_labelled_queries(path=file)
    with open_knowledge() as knowledge:
        report = evaluate(knowledge=knowledge, queries=queries, k=k)
    if report.unknown_ids:
        shown = ", ".join(report.unknown_ids[:_MAX_UNKNOWN_SHOWN])
        more = "…" if len(report.unknown_ids) > _MAX_UNKNOWN_SHOWN else ""
        typer.echo(
            f"Attention : {len(report.unknown_ids)} identifiant(s) attendu(s) absent(s) de la "
            f"base ({shown}{more}) ; les requêtes concernées ne peuvent pas être trouvées.",
            err=True,
        )
    if as_json:
        typer.echo(json.dumps(_as_json(report), ensure_ascii=False))
    else:
        typer.echo(_as_table(report))


def _as_json(report: EvaluationReport) -> dict[str, float | int | None]:
    return {
        "recall_at_1": round(report.recall_at_1, 4),
        "recall_at_5": round(report.recall_at_5, 4),
        "mrr": round(report.mrr, 4),
        "abstain_auc": None if report.abstain_auc is None else round(report.abstain_auc, 4),
        "best_threshold": None if report.best is None else round(report.best.threshold, 4),
        "n": report.n,
    }


def _number(value: float | None, digits: int = 3) -> str:
    """A number the French way (decimal comma), or a dash when undefined."""
    return "—" if value is None else f"{value:.{digits}f}".replace(".", ",")


def _decision(quality: DecisionQuality | None) -> str:
    if quality is None:
        return "—"
    return (f"{_number(quality.threshold)} (précision {_number(quality.precision, 2)}, "
            f"rappel {_number(quality.recall, 2)}, F1 {_number(quality.f1, 2)})")


def _as_table(report: EvaluationReport) -> str:
    rows = [
        ("Rappel@1", _number(report.recall_at_1)),
        ("Rappel@5", _number(report.recall_at_5)),
    ]
    if report.k != 5:
        rows.append((f"Rappel@{report.k}", _number(report.recall_at_k)))
    rows += [
        (f"MRR (sur {report.k} résultats)", _number(report.mrr)),
        ("AUC de l'abstention", _number(report.abstain_auc)),
        ("Seuil optimal (F1)", _decision(report.best)),
        ("Seuil configuré", _decision(report.configured)),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [
        f"Évaluation sur {report.n} requêtes : {report.n_answerable} avec réponse attendue, "
        f"{report.n_unanswerable} sans réponse attendue.",
        "",
        f"{'Indicateur':<{width}}  Valeur",
        f"{'-' * width}  {'-' * 6}",
    ]
    lines += [f"{label:<{width}}  {value}" for label, value in rows]
    return "\n".join(lines)
