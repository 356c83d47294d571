"""`svp eval`: measure the search on a labelled set of queries."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from knowledge.retrieval.evaluation import (
    DecisionQuality,
    EvaluationReport,
    Miss,
    evaluate,
    find_misses,
    load_labelled_queries,
)
from svp.cli.base import app, open_knowledge, settings
from svp.runtime import ranking as configured_ranking

_MAX_UNKNOWN_SHOWN = 10


@app.command("eval")
def evaluate_command(
    file: Annotated[Path, typer.Argument(
        help="Fichier JSONL étiqueté : une ligne {\"q\": \"...\", \"rel\": [\"F1170\", ...]} "
        "par requête ; rel vide si la bonne réponse est de ne rien proposer.",
        metavar="FICHIER", show_default=False)],
    k: Annotated[int, typer.Option("--k", min=1, help="Nombre de résultats examinés.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON sur une ligne.")] = False,
    show_misses: Annotated[bool, typer.Option(
        "--misses", help="Liste les requêtes dont le premier résultat est faux : rang et score "
        "de la fiche attendue, premier résultat.")] = False,
    question_vectors: Annotated[str | None, typer.Option(
        "--question-vectors", help="Remplace SVP_SEARCH_QUESTION_VECTORS : max, weighted, off.",
        show_default=False)] = None,
    question_weight: Annotated[float | None, typer.Option(
        "--question-weight", help="Remplace SVP_SEARCH_QUESTION_WEIGHT (0 à 1).",
        show_default=False)] = None,
    glossary: Annotated[str | None, typer.Option(
        "--glossary", help="Remplace SVP_SEARCH_GLOSSARY : on, lexical, dense, off.",
        show_default=False)] = None,
    lexical_weight: Annotated[float | None, typer.Option(
        "--lexical-weight", help="Remplace SVP_SEARCH_LEXICAL_WEIGHT (0 à 1).",
        show_default=False)] = None,
    rerank_pool: Annotated[int | None, typer.Option(
        "--rerank-pool", help="Remplace SVP_SEARCH_RERANK_POOL (candidats reclassés).",
        show_default=False)] = None,
) -> None:
    """Évalue la recherche sur un jeu de requêtes étiquetées (rappel, MRR, abstention)."""
    # The file and the ranking are checked before the database and the model are opened: a
    # typo fails fast.
    queries = load_labelled_queries(path=file)
    current = settings()
    base = configured_ranking(current)
    ranking = replace(
        base,
        question_vectors=base.question_vectors if question_vectors is None else question_vectors,
        question_weight=base.question_weight if question_weight is None else question_weight,
        glossary=base.glossary if glossary is None else glossary,
        lexical_weight=base.lexical_weight if lexical_weight is None else lexical_weight,
        rerank_pool=base.rerank_pool if rerank_pool is None else rerank_pool)
    with open_knowledge(current) as knowledge:
        knowledge.ranking = ranking
        report = evaluate(knowledge=knowledge, queries=queries, k=k)
        misses = find_misses(knowledge=knowledge, queries=queries) if show_misses else []
    if report.unknown_ids:
        shown = ", ".join(report.unknown_ids[:_MAX_UNKNOWN_SHOWN])
        more = "…" if len(report.unknown_ids) > _MAX_UNKNOWN_SHOWN else ""
        typer.echo(
            f"Attention : {len(report.unknown_ids)} identifiant(s) attendu(s) absent(s) de la "
            f"base ({shown}{more}) ; les requêtes concernées ne peuvent pas être trouvées.",
            err=True,
        )
    if as_json:
        payload: dict[str, object] = dict(_as_json(report))
        if show_misses:
            payload["misses"] = [_miss_json(miss) for miss in misses]
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        typer.echo(_as_table(report))
        typer.echo(f"Classement : {ranking.describe()}.")
        if show_misses:
            typer.echo(_misses_table(misses))


def _miss_json(miss: Miss) -> dict[str, object]:
    return {
        "q": miss.query.text,
        "rel": sorted(miss.query.relevant),
        "expected_rank": miss.expected_rank,
        "expected_id": miss.expected_id,
        "expected_score": miss.expected_score,
        "top_id": miss.top_id,
        "top_question": miss.top_question,
        "top_score": miss.top_score,
    }


def _misses_table(misses: list[Miss]) -> str:
    if not misses:
        return "\nAucune requête manquée : chaque premier résultat est juste."
    lines = [f"\nRequêtes manquées ({len(misses)}) :"]
    for miss in misses:
        lines.append(f"- ligne {miss.query.line} : {miss.query.text}")
        if not miss.query.answerable:
            lines.append("    attendu : aucune proposition (abstention)")
        elif miss.expected_rank is None:
            lines.append(f"    attendu : {', '.join(sorted(miss.query.relevant))}, absente des "
                         "50 premiers résultats")
        else:
            lines.append(f"    attendu : {miss.expected_id}, rang {miss.expected_rank}, "
                         f"score {_number(miss.expected_score)}")
        if miss.top_id is not None or miss.top_question is not None:
            lines.append(f"    premier résultat : {miss.top_id or '—'} "
                         f"(score {_number(miss.top_score)}) {miss.top_question or ''}")
        else:
            lines.append("    premier résultat : aucun")
    return "\n".join(lines)


def _as_json(report: EvaluationReport) -> dict[str, float | int | None]:
    payload: dict[str, float | int | None] = {
        "recall_at_1": round(report.recall_at_1, 4),
        "recall_at_5": round(report.recall_at_5, 4),
        "mrr": round(report.mrr, 4),
        "abstain_auc": None if report.abstain_auc is None else round(report.abstain_auc, 4),
        "best_threshold": None if report.best is None else round(report.best.threshold, 4),
        "n": report.n,
    }
    evidence = report.evidence
    if evidence is not None:  # only for sets with `evidence` lines
        payload.update({
            "evidence_at_1": _rounded(evidence.passage),
            "evidence_at_1_opening": _rounded(evidence.opening),
            "evidence_labelled": evidence.labelled,
            "evidence_ranked_first": evidence.ranked_first,
        })
    return payload


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


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
    if report.evidence is not None:
        evidence = report.evidence
        rows += [
            (f"Évidence@1, passage montré (sur {evidence.ranked_first} / {evidence.labelled})",
             _number(evidence.passage)),
            ("Évidence@1, 280 premiers caractères", _number(evidence.opening)),
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
