"""`svp kb history|diff|restore|due|verify|remind|themes`: keeping the knowledge base right."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer

from knowledge.catalog import history, reviews, themes, usage
from knowledge.desk import review_reminders
from knowledge.errors import NotFound
from knowledge.timeutil import utcnow
from svp.cli.base import OperatorError, open_knowledge, settings
from svp.cli.kb import ACTOR, kb_app, resolve_entry

themes_app = typer.Typer(help="Liste des thèmes : afficher, ajouter, renommer, fusionner.",
                         no_args_is_help=True)
kb_app.add_typer(themes_app, name="themes")

EntryArgument = Annotated[str, typer.Argument(
    metavar="FICHE", help="Numéro de la fiche ou son identifiant externe.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Sortie JSON (pour un script).")]


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _when(moment: Any) -> str:
    return moment.strftime("%d/%m/%Y %H:%M UTC") if moment is not None else "?"


@kb_app.command("history")
def history_command(entry: EntryArgument, as_json: JsonOption = False) -> None:
    """Affiche l'historique d'une fiche : révisions (auteur, date, motif) et événements."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        found = resolve_entry(session, entry)
        items = history.history(session=session, entry_id=found.id)
        rows: list[dict[str, Any]] = [{
            "kind": "revision" if item.revision is not None else "event",
            "revision": item.revision.revision if item.revision is not None else None,
            "label": item.label, "at": item.at.isoformat(), "actor": item.actor,
            "author": item.actor_name, "reason": item.reason, "changed": list(item.changed),
            "substantive": item.substantive,
        } for item in items]
        number, current = found.id, found.revision
    if as_json:
        _echo_json({"entry": number, "revision": current, "history": rows})
        return
    typer.echo(f"Fiche {number} — révision en vigueur : {current}")
    for row, item in zip(rows, items, strict=True):
        reason = f" — motif : {row['reason']}" if row["reason"] and row["kind"] == "revision" \
            else (f" — {row['reason']}" if row["reason"] else "")
        changed = f" ({', '.join(row['changed'])})" if row["changed"] and row["revision"] != 1 \
            else ""
        typer.echo(f"  {_when(item.at)}  {row['label']}{changed}, par {row['author']}{reason}")


@kb_app.command("diff")
def diff_command(
    entry: EntryArgument,
    older: Annotated[int, typer.Argument(metavar="REV_A", help="Révision de départ.")],
    newer: Annotated[int, typer.Argument(metavar="REV_B", help="Révision d'arrivée.")],
) -> None:
    """Montre mot à mot ce qui change entre deux révisions ([-supprimé-] {+ajouté+})."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        found = resolve_entry(session, entry)
        result = history.diff(session=session, entry_id=found.id, older=older, newer=newer)
        lines = [f"Fiche {found.id} : révision {older} → {newer}"]
        for field in result.fields:
            if field.changed:
                lines += ["", f"{field.label} :", history.as_text(field.pieces)]
        if len(lines) == 1:
            lines.append("Aucune différence.")
    typer.echo("\n".join(lines))


@kb_app.command("restore")
def restore_command(
    entry: EntryArgument,
    number: Annotated[int, typer.Argument(metavar="REV", help="Révision à rétablir.")],
) -> None:
    """Rétablit le texte d'une ancienne révision, comme nouvelle révision."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        found = resolve_entry(session, entry)
        history.restore(session=session, entry_id=found.id, number=number, actor=ACTOR,
                        embedder=knowledge.embedder)
        result = (found.id, found.revision)
    typer.echo(f"Fiche {result[0]} : révision {number} rétablie comme révision {result[1]}.")


@kb_app.command("due")
def due_command(
    as_json: JsonOption = False,
    within: Annotated[int, typer.Option(
        "--within", metavar="JOURS", min=0,
        help="Inclut les fiches à revoir dans ce nombre de jours.")] = reviews.DUE_HORIZON_DAYS,
) -> None:
    """Liste les fiches à revoir, les plus en retard d'abord, puis celles sans date."""
    today = utcnow().date()
    with open_knowledge() as knowledge, knowledge.session() as session:
        due = reviews.due(session=session, today=today, within_days=within)
        counts = usage.usage(session=session, entry_ids=[entry.id for entry in due])
        rows: list[dict[str, Any]] = [{
            "id": entry.id, "external_id": entry.external_id, "question": entry.question,
            "theme": entry.theme,
            "review_by": entry.review_by.isoformat() if entry.review_by else None,
            "overdue": reviews.is_overdue(entry, today),
            "suggested": counts[entry.id].suggested, "answers": counts[entry.id].answers,
            "likes": counts[entry.id].likes, "dislikes": counts[entry.id].dislikes,
        } for entry in due]
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        when = date.fromisoformat(row["review_by"]).strftime("%d/%m/%Y") if row["review_by"] \
            else "sans date"
        late = " EN RETARD" if row["overdue"] else ""
        question = " ".join(str(row["question"]).split())
        typer.echo(f"{row['id']:>5}  {when:<10}{late}  {question} "
                   f"(proposée {row['suggested']}, réponses {row['answers']})")
    typer.echo(f"{len(rows)} fiche(s) à revoir.", err=True)


@kb_app.command("verify")
def verify_command(
    entry: EntryArgument,
    until: Annotated[str | None, typer.Option(
        "--until", metavar="AAAA-MM-JJ", help="Date de la prochaine vérification.")] = None,
    january: Annotated[bool, typer.Option(
        "--january", help="Prochaine vérification le 1er janvier prochain.")] = False,
) -> None:
    """Enregistre qu'une fiche est vérifiée et toujours juste ; repousse sa date de révision."""
    today = utcnow().date()
    if until is not None and january:
        raise OperatorError("choisissez --until ou --january, pas les deux.")
    if until is not None:
        try:
            chosen = date.fromisoformat(until)
        except ValueError:
            raise OperatorError(f"date invalide « {until} » (attendu AAAA-MM-JJ).") from None
        next_date = reviews.next_review_date(reviews.ReviewChoice.DATE, today=today,
                                             chosen=chosen)
    elif january:
        next_date = reviews.next_review_date(reviews.ReviewChoice.JANUARY, today=today)
    else:
        next_date = reviews.next_review_date(reviews.ReviewChoice.PERIOD, today=today,
                                             months=settings().review_months)
    with open_knowledge() as knowledge, knowledge.session() as session:
        found = resolve_entry(session, entry)
        reviews.mark_verified(session=session, entry_id=found.id, actor=ACTOR, until=next_date)
        number = found.id
    typer.echo(f"Fiche {number} vérifiée ; prochaine vérification le "
               f"{next_date.strftime('%d/%m/%Y')}.")


@kb_app.command("remind")
def remind_command() -> None:
    """Envoie le rappel des fiches à revoir aux conseillers liés à Telegram (1 fois/semaine).

    Sans effet si le rappel de la semaine est déjà parti : peut tourner chaque jour en cron.
    """
    current = settings()
    with open_knowledge(current) as knowledge, knowledge.session() as session:
        sent = review_reminders.send_weekly(session=session, today=utcnow().date(),
                                            admin_base_url=current.admin_base_url)
    typer.echo(f"Rappel mis en file pour {sent} conseiller(s).")


@themes_app.command("list")
def themes_list_command() -> None:
    """Affiche les thèmes et leur nombre de fiches."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        counts = themes.entry_counts(session=session)
    for name, count in counts.items():
        typer.echo(f"{count:>5}  {name}")


@themes_app.command("add")
def themes_add_command(
    name: Annotated[str, typer.Argument(metavar="THÈME")],
    force: Annotated[bool, typer.Option(
        "--force", help="Créer le thème même s'il ressemble à un thème existant.")] = False,
) -> None:
    """Ajoute un thème à la liste (refusé s'il ressemble à un thème existant, sauf --force)."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        try:
            theme = themes.add(session=session, name=name, actor=ACTOR, confirm_similar=force)
        except themes.SimilarThemes as warning:
            raise OperatorError(f"{warning} Relancez avec --force pour le créer quand même."
                                ) from None
        added = theme.name
    typer.echo(f"Thème « {added} » ajouté.")


def _theme(session: Any, name: str) -> Any:
    found = themes.find(session=session, name=name)
    if found is None:
        raise NotFound("theme", name)
    return found


@themes_app.command("rename")
def themes_rename_command(
    old: Annotated[str, typer.Argument(metavar="ANCIEN", help="Thème à renommer.")],
    new: Annotated[str, typer.Argument(metavar="NOUVEAU", help="Nouveau nom.")],
) -> None:
    """Renomme un thème et reclasse ses fiches et ses questions."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        theme = themes.rename(session=session, theme_id=_theme(session, old).id, name=new,
                              actor=ACTOR)
        renamed = theme.name
    typer.echo(f"Thème renommé en « {renamed} ».")


@themes_app.command("merge")
def themes_merge_command(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Thème qui disparaît.")],
    target: Annotated[str, typer.Argument(metavar="CIBLE", help="Thème qui reçoit ses fiches.")],
) -> None:
    """Fusionne deux thèmes : les fiches de SOURCE passent dans CIBLE."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        moved = themes.merge(session=session, source_id=_theme(session, source).id,
                             target_id=_theme(session, target).id, actor=ACTOR)
    typer.echo(f"{moved} fiche(s) reclassée(s) ; thème « {source} » supprimé.")
