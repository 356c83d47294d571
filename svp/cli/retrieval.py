"""`svp search` and `svp index ...`: search the knowledge base, maintain the vector index."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from knowledge.retrieval import embeddings
from knowledge.runtime import Knowledge, SearchResult
from svp.cli.base import OperatorError, app, open_knowledge

index_app = typer.Typer(help="Index de recherche (vecteurs des fiches).", no_args_is_help=True)
app.add_typer(index_app, name="index")

REEMBED_BATCH = 32


def result_json(result: SearchResult) -> dict[str, Any]:
    """Return the JSON form of a search result (the schema `svp search --json` prints)."""
    return {
        "query": result.query,
        "abstained": result.abstained,
        "results": [
            {"id": hit.entry_id, "external_id": hit.external_id, "question": hit.question,
             "answer": hit.answer, "score": hit.score, "theme": hit.theme, "source": hit.source,
             "passage": None if hit.passage is None else {
                 "text": hit.passage.text, "start": hit.passage.start, "end": hit.passage.end,
                 "score": hit.passage.score, "from_question": hit.passage.from_question}}
            for hit in result.hits
        ],
    }


@app.command("search")
def search_command(
    question: Annotated[str, typer.Argument(help="La question à rechercher.")],
    k: Annotated[int, typer.Option("--k", min=1, max=100,
                                   help="Nombre maximal de fiches proposées.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
) -> None:
    """Cherche les fiches actives les plus proches d'une question."""
    if not question.strip():
        raise OperatorError("la question est vide.")
    with open_knowledge() as knowledge:
        result = knowledge.similar(question, k=k)
        threshold = knowledge.abstain_threshold
    if as_json:
        typer.echo(json.dumps(result_json(result), ensure_ascii=False, indent=2))
        return
    if result.abstained:
        typer.echo(f"Aucune fiche assez proche (seuil {threshold:.2f}).")
        return
    for rank, hit in enumerate(result.hits, start=1):
        label = f" [{hit.external_id}]" if hit.external_id else ""
        typer.echo(f"{rank}. ({hit.score:.3f}) fiche {hit.entry_id}{label} : {hit.question}")
        if hit.theme:
            typer.echo(f"   Thème : {hit.theme}")
        if hit.source:
            typer.echo(f"   Source : {hit.source}")


@index_app.command("rebuild")
def rebuild() -> None:
    """Reconstruit l'index à partir des vecteurs enregistrés dans la base."""
    with open_knowledge() as knowledge:
        count = knowledge.rebuild_index()
        stale = _stale_count(knowledge)
    typer.echo(f"Index reconstruit : {count} fiche(s) dans {knowledge.index_dir}.")
    if stale:
        typer.echo(f"Attention : {stale} fiche(s) active(s) sans vecteur à jour : lancez "
                   "« svp index reembed ».", err=True)


@index_app.command("check")
def check() -> None:
    """Vérifie que l'index enregistré correspond à la base (code de sortie non nul sinon)."""
    knowledge = open_knowledge()
    try:
        problems = knowledge.check_index()
    finally:
        knowledge.close(save=False)
    if problems:
        typer.echo(f"Index incohérent : {' ; '.join(problems)}.", err=True)
        raise typer.Exit(code=1)
    typer.echo("Index cohérent avec la base.")


@index_app.command("reembed")
def reembed(
    batch: Annotated[int, typer.Option("--batch", min=1, max=1024,
                                       help="Fiches calculées par lot.")] = REEMBED_BATCH,
) -> None:
    """Calcule les vecteurs manquants ou périmés (reprend là où il s'était arrêté)."""
    with open_knowledge() as knowledge:
        embedder = knowledge.embedder
        with knowledge.session() as session:
            pending = embeddings.stale_entry_ids(session=session, model_id=embedder.model_id)
        done = 0
        columns = (TextColumn("Calcul des vecteurs"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())
        if pending:
            with Progress(*columns, transient=True) as progress:
                task = progress.add_task("reembed", total=len(pending))
                for start in range(0, len(pending), batch):
                    # One unit of work per batch (entry vectors and passages together): an
                    # interruption keeps what was done.
                    with knowledge.session() as session:
                        done += embeddings.embed_entries(session=session, embedder=embedder,
                                                         entry_ids=pending[start:start + batch])
                    progress.update(task, completed=min(start + batch, len(pending)))
        cut = knowledge.embed_missing_passages(batch=batch)
        if not pending and not cut:
            typer.echo(f"Toutes les fiches actives ont un vecteur à jour ({embedder.model_id}).")
            return
        count = knowledge.rebuild_index() if pending else None
    if pending:
        typer.echo(f"{done} fiche(s) recalculée(s) avec {embedder.model_id} ; index : {count} "
                   "fiche(s).")
    if cut:
        typer.echo(f"Passages recalculés pour {cut} fiche(s) dont seuls les passages "
                   "manquaient.")


def _stale_count(knowledge: Knowledge) -> int:
    with knowledge.session() as session:
        return len(embeddings.stale_entry_ids(session=session,
                                              model_id=knowledge.embedder.model_id))
