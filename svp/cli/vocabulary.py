"""`svp glossary ...` and `svp kb phrasing ...`: the search vocabulary from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from knowledge.retrieval import glossary, phrasings
from svp.cli.base import OperatorError, app, open_knowledge
from svp.cli.kb import ACTOR, kb_app, resolve_entry

glossary_app = typer.Typer(help="Glossaire du secteur : sigles, synonymes, anciens noms.",
                           no_args_is_help=True)
app.add_typer(glossary_app, name="glossary")
phrasing_app = typer.Typer(help="Formulations apprises des fiches (questions déjà posées).",
                           no_args_is_help=True)
kb_app.add_typer(phrasing_app, name="phrasing")


@glossary_app.command("list")
def glossary_list_command(
    query: Annotated[str | None, typer.Option(
        "--query", metavar="REQUÊTE",
        help="Montre ce que le glossaire fait de cette requête au lieu de la liste.")] = None,
) -> None:
    """Affiche les termes du glossaire et leurs équivalents."""
    with open_knowledge() as knowledge:
        if query is not None:
            expansion = knowledge.expand(query)
            if not expansion.matches:
                typer.echo("Aucun terme du glossaire dans cette requête.")
                return
            for match in expansion.matches:
                typer.echo(f"{match.text} → {' ; '.join(match.equivalents)}")
            return
        with knowledge.session() as session:
            rows = [(row.term, glossary.synonyms_of(row))
                    for row in glossary.list_terms(session=session)]
    for term, synonyms in rows:
        typer.echo(f"{term} : {' ; '.join(synonyms)}")
    typer.echo(f"{len(rows)} terme(s).", err=True)


@glossary_app.command("import")
def glossary_import_command(
    file: Annotated[Path, typer.Argument(
        metavar="FICHIER", help="Fichier JSONL : {\"term\": ..., \"synonyms\": [...], "
        "\"note\": ...} par ligne.")],
) -> None:
    """Ajoute les termes d'un fichier et met à jour ceux qui existent déjà."""
    records = glossary.load_file(path=file)
    if not records:
        raise OperatorError(f"{file} ne contient aucun terme.")
    with open_knowledge() as knowledge, knowledge.session() as session:
        report = glossary.import_records(session=session, records=records, actor=ACTOR)
    typer.echo(f"Glossaire : {report.created} terme(s) ajouté(s), {report.updated} mis à jour, "
               f"{report.unchanged} inchangé(s).")


@glossary_app.command("export")
def glossary_export_command(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FICHIER", help="Fichier à écrire (sinon la sortie).")] = None,
) -> None:
    """Écrit le glossaire au format JSONL (celui que lit « svp glossary import »)."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        lines = glossary.export_lines(session=session)
    text = "".join(f"{line}\n" for line in lines)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        temporary = output.with_name(f".{output.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(output)
    except OSError as error:
        raise OperatorError(f"écriture impossible de {output} : {error.strerror}.") from None
    typer.echo(f"{len(lines)} terme(s) écrit(s) dans {output}.")


@phrasing_app.command("add")
def phrasing_add_command(
    entry: Annotated[str, typer.Argument(
        metavar="FICHE", help="Numéro de la fiche ou son identifiant externe.")],
    text: Annotated[str, typer.Argument(metavar="FORMULATION",
                                        help="La question telle qu'elle a été posée.")],
) -> None:
    """Ajoute une formulation à une fiche (import de questions déjà traitées)."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        found = resolve_entry(session, entry)
        added = phrasings.add_phrasing(session=session, entry_id=found.id, text=text,
                                       actor=ACTOR, embedder=knowledge.embedder)
        number = found.id
    if added is None:
        typer.echo(f"La fiche {number} a déjà cette formulation.")
    else:
        typer.echo(f"Formulation ajoutée à la fiche {number}.")


@phrasing_app.command("list")
def phrasing_list_command(
    entry: Annotated[str, typer.Argument(
        metavar="FICHE", help="Numéro de la fiche ou son identifiant externe.")],
) -> None:
    """Affiche les formulations apprises d'une fiche."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        found = resolve_entry(session, entry)
        rows = [(row.id, row.source, row.text)
                for row in phrasings.list_phrasings(session=session, entry_id=found.id)]
    for number, source, phrasing in rows:
        typer.echo(f"{number:>5}  {'question' if source == phrasings.FROM_TICKET else 'manuelle'}"
                   f"  {phrasing}")
    if not rows:
        typer.echo("Aucune formulation apprise.")


@phrasing_app.command("remove")
def phrasing_remove_command(
    phrasing_id: Annotated[int, typer.Argument(metavar="NUMÉRO",
                                               help="Numéro de la formulation.")],
) -> None:
    """Supprime une formulation : elle ne compte plus dans la recherche."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        phrasings.remove_phrasing(session=session, phrasing_id=phrasing_id, actor=ACTOR)
    typer.echo(f"Formulation {phrasing_id} supprimée.")
