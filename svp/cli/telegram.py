"""`svp bot`, `svp org ...`, `svp asker ...`, `svp adviser link-code`: the Telegram side."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from sqlalchemy import select

from knowledge.people import adviser_links, askers, members, organisations
from knowledge.store.models import AskerStatus, User
from svp.cli.base import OperatorError, app, open_knowledge, settings

logger = logging.getLogger(__name__)

org_app = typer.Typer(help="Organismes adhérents et leurs codes d'invitation.",
                      no_args_is_help=True)
asker_app = typer.Typer(help="Demandeurs inscrits par Telegram.", no_args_is_help=True)
adviser_app = typer.Typer(help="Comptes des conseillers (côté Telegram).", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(asker_app, name="asker")
app.add_typer(adviser_app, name="adviser")

_ACTOR = "cli"


class _StartupFailureReported(logging.Filter):
    """Drop PTB's traceback for a failed start-up: the CLI reports it as one French line."""

    def filter(self, record: logging.LogRecord) -> bool:
        from telegram.error import InvalidToken, NetworkError

        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, InvalidToken | NetworkError)
                    and "Bootstrap" in record.getMessage())


@app.command("bot")
def run_bot() -> None:
    """Lance le processus du bot Telegram (un seul par service ; arrêt : Ctrl+C).

    Sans SVP_TELEGRAM_WEBHOOK_URL, il interroge Telegram (polling). Avec, il déclare le webhook
    et traite les messages que les processus web (« svp serve --workers N ») ont enregistrés.
    Dans les deux cas il envoie les réponses et fait les tâches périodiques du bot.
    """
    from telegram.error import InvalidToken, NetworkError

    from bot.runner import run_until_stopped
    from svp.botwiring import bot_config, build_bot

    current = settings()
    bot_config(current)  # fail on a missing or malformed token before touching the database
    webhook_url = current.telegram_webhook_url or None
    if webhook_url and not current.telegram_webhook_secret:
        raise OperatorError("SVP_TELEGRAM_WEBHOOK_SECRET est obligatoire en mode webhook avec "
                            "« svp bot » : les processus web doivent connaître le même secret.")
    knowledge = open_knowledge(current)
    for name in ("telegram.ext", "telegram.ext.Application"):
        logging.getLogger(name).addFilter(_StartupFailureReported())
    try:
        application = build_bot(knowledge, current)
        mode = "webhook, messages reçus par les processus web" if webhook_url else "polling"
        typer.echo(f"Démarrage du bot Telegram ({mode}) ; Ctrl+C pour arrêter.", err=True)
        run_until_stopped(application, webhook_url=webhook_url,
                          secret=current.telegram_webhook_secret if webhook_url else None)
    except InvalidToken as error:
        raise OperatorError("Telegram refuse le jeton du bot : vérifiez SVP_TELEGRAM_TOKEN "
                            "auprès de @BotFather.") from error
    except NetworkError as error:
        raise OperatorError(f"serveur Bot API injoignable ({current.telegram_api_url}) : "
                            f"vérifiez le réseau ou SVP_TELEGRAM_API_URL ({error}).") from error
    finally:
        knowledge.close()


# --- organisations ----------------------------------------------------------------------------

@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="Nom de l'organisme.")],
    kind: Annotated[str, typer.Option("--kind", help="oph, esh, cooperative, sem, association "
                                                     "ou autre.")] = "autre",
    departement: Annotated[str | None, typer.Option(
        "--departement", help="Département, obligatoire (ex. 13, 2A, 974).")] = None,
) -> None:
    """Ajoute un organisme adhérent."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        organisation = organisations.create(
            session=session, name=name, kind=organisations.parse_kind(kind),
            departement=departement, actor=_ACTOR)
        typer.echo(f"Organisme n° {organisation.id} ajouté : {organisation.name}.")


@org_app.command("list")
def org_list() -> None:
    """Liste les organismes adhérents."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        rows = organisations.list_organisations(session=session)
        if not rows:
            typer.echo("Aucun organisme. Ajoutez-en avec « svp org add NOM --departement 13 ».")
        for org in rows:
            state = "actif" if org.active else "désactivé"
            invite = "code d'invitation actif" if org.invite_code else "sans code"
            typer.echo(f"{org.id:>4}  {org.name}  ({org.kind}, "
                       f"{org.departement or 'département à renseigner'}, "
                       f"{state}, {invite})")


@org_app.command("invite")
def org_invite(name: Annotated[str, typer.Argument(help="Nom de l'organisme.")]) -> None:
    """Crée un nouveau code d'invitation (l'ancien cesse de fonctionner), affiché en dernier."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        organisation = organisations.get_by_name(session=session, name=name)
        code = organisations.new_invite_code(session=session,
                                             organisation_id=organisation.id, actor=_ACTOR)
        typer.echo(f"Nouveau code d'invitation de {organisation.name}. Les membres "
                   "l'envoient au bot avec « /start CODE », ou ouvrent le lien "
                   "https://t.me/<nom_du_bot>?start=CODE.")
        typer.echo(code)


domain_app = typer.Typer(help="Domaines de courriel d'un organisme (centre d'aide, questions "
                              "par courriel).", no_args_is_help=True)
org_app.add_typer(domain_app, name="domain")


@domain_app.command("add")
def domain_add(name: Annotated[str, typer.Argument(help="Nom de l'organisme.")],
               domain: Annotated[str, typer.Argument(help="Domaine, ex. habitat-med.fr.")]
               ) -> None:
    """Déclare un domaine : ses adresses peuvent se connecter et écrire au SVP."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        organisation = organisations.get_by_name(session=session, name=name)
        added = members.parse_domains(domain)
        if len(added) != 1:
            raise OperatorError("indiquez un seul domaine, par exemple « habitat-med.fr ».")
        domains = sorted({*(organisation.email_domains or []), *added})
        members.set_domains(session=session, organisation_id=organisation.id, domains=domains,
                            actor=_ACTOR)
        typer.echo(f"Domaines de {organisation.name} : {', '.join(domains)}.")


@domain_app.command("remove")
def domain_remove(name: Annotated[str, typer.Argument(help="Nom de l'organisme.")],
                  domain: Annotated[str, typer.Argument(help="Domaine à retirer.")]) -> None:
    """Retire un domaine (les sessions ouvertes par ses adresses se terminent)."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        organisation = organisations.get_by_name(session=session, name=name)
        wanted = domain.strip().lower()
        if wanted not in (organisation.email_domains or []):
            raise OperatorError(f"« {wanted} » n'est pas un domaine de {organisation.name}.")
        domains = [item for item in organisation.email_domains or [] if item != wanted]
        members.set_domains(session=session, organisation_id=organisation.id, domains=domains,
                            actor=_ACTOR)
        typer.echo(f"Domaines de {organisation.name} : {', '.join(domains) or 'aucun'}.")


@domain_app.command("list")
def domain_list() -> None:
    """Liste les domaines déclarés de chaque organisme."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        for organisation in organisations.list_organisations(session=session):
            typer.echo(f"{organisation.name} : "
                       f"{', '.join(organisation.email_domains or []) or 'aucun domaine'}")


# --- askers -----------------------------------------------------------------------------------

_STATUS_FR = {"pending": "en attente", "approved": "validé", "blocked": "bloqué",
              "erased": "effacé"}


@asker_app.command("list")
def asker_list(
    status: Annotated[str | None, typer.Option(
        "--status", help="pending, approved, blocked ou erased.")] = None,
) -> None:
    """Liste les demandeurs (les plus récents d'abord)."""
    if status is not None and status not in {s.value for s in AskerStatus}:
        raise OperatorError(f"statut inconnu « {status} » : pending, approved, blocked ou "
                            "erased.")
    with open_knowledge() as knowledge, knowledge.session() as session:
        rows = askers.list_askers(session=session, status=status)
        if not rows:
            typer.echo("Aucun demandeur.")
        for asker in rows:
            organisation = asker.organisation.name if asker.organisation else "—"
            typer.echo(f"{asker.id:>4}  {asker.full_name or '—'}  <{asker.email or '—'}>  "
                       f"{organisation}  [{_STATUS_FR.get(asker.status, asker.status)}]")


@asker_app.command("approve")
def asker_approve(asker_id: Annotated[int, typer.Argument(help="Numéro du demandeur.")]) -> None:
    """Valide l'inscription d'un demandeur (il en est prévenu dans Telegram)."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        asker = askers.approve(session=session, asker_id=asker_id, actor=_ACTOR)
        typer.echo(f"Demandeur n° {asker.id} validé : {asker.full_name or '—'}.")


@asker_app.command("block")
def asker_block(
    asker_id: Annotated[int, typer.Argument(help="Numéro du demandeur.")],
    reason: Annotated[str | None, typer.Option("--raison", "--reason",
                                               help="Motif (journal d'audit).")] = None,
) -> None:
    """Bloque un demandeur : il ne peut plus poser de question."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        asker = askers.block(session=session, asker_id=asker_id, actor=_ACTOR, reason=reason)
        typer.echo(f"Demandeur n° {asker.id} bloqué.")


# --- advisers ---------------------------------------------------------------------------------

@adviser_app.command("link-code")
def adviser_link_code(login: Annotated[str, typer.Argument(help="Identifiant du conseiller.")]
                      ) -> None:
    """Donne un code à usage unique à envoyer au bot (« /conseiller CODE », valable 24 h)."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        user = session.scalar(select(User).where(User.login == login.strip()))
        if user is None:
            raise OperatorError(f"aucun compte « {login} » : créez-le d'abord dans "
                                "l'administration web.")
        code = adviser_links.issue_code(session=session, user_id=user.id)
        typer.echo(f"Envoyez au bot, depuis le compte Telegram de {user.display_name}, "
                   "valable 24 h :")
        typer.echo(f"/conseiller {code}")
