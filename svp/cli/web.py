"""`svp serve` (web admin, and the bot in the same process) and `svp user ...` (accounts)."""

from __future__ import annotations

import copy
import logging
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from admin.config import AdminConfig, HelpConfig
from knowledge.people import advisers
from knowledge.people.sealed_secrets import SecretSealer
from knowledge.runtime import Knowledge
from knowledge.store import migrate
from knowledge.store.db import is_sqlite
from svp import redaction
from svp.cli.base import OperatorError, app, open_knowledge, sealing_keys, settings
from svp.mailwiring import mail_sender, mail_service, mail_settings
from svp.runtime import attachment_limits, retention_policy
from svp.settings import Settings
from svp.webapp import WEBHOOK_PATH

if TYPE_CHECKING:  # the web stack is imported by `svp serve` alone: other commands start faster
    from fastapi import FastAPI
    from starlette.routing import BaseRoute

logger = logging.getLogger(__name__)

user_app = typer.Typer(help="Comptes de l'administration web (conseillers, administrateurs).",
                       no_args_is_help=True)
app.add_typer(user_app, name="user")



def admin_config(current: Settings, *, sealer: SecretSealer) -> AdminConfig:
    """Build the web admin's configuration from the settings and the sealer of secrets."""
    return AdminConfig(
        secure_cookies=current.secure_cookies,
        session_hours=current.session_hours,
        session_idle_minutes=current.session_idle_minutes,
        second_factor_required=current.second_factor_required,
        target_delay_days=current.target_delay_days,
        duplicate_threshold=current.duplicate_threshold,
        base_url=current.admin_base_url,
        answer_signature=current.answer_signature,
        bot_username=(current.telegram_bot_username or "").lstrip("@") or None,
        metrics_token=current.metrics_token,
        review_months=current.review_months,
        api_rate_per_minute=current.api_rate_per_minute,
        backup_dir=current.resolved_backup_dir(),
        retention=retention_policy(current),
        attachment_limits=attachment_limits(current),
        secret_sealer=sealer,
        help=HelpConfig(enabled=current.help_centre,
                        anonymous_reading=current.help_anonymous_reading,
                        send_mail=mail_sender(mail_settings(current)),
                        questions_per_minute=current.rate_limit_per_minute,
                        questions_per_day=current.rate_limit_per_day),
    )


def _bot_parts(current: Settings, knowledge: Knowledge) -> tuple[list[BaseRoute], Any]:
    """Build the bot of this process: the webhook route (if any) and a lifespan running it."""
    from bot import runner
    from bot.application import build_application
    from bot.webhook import webhook_route
    from svp.botwiring import bot_config

    application = build_application(knowledge=knowledge, config=bot_config(current))
    webhook_url = current.telegram_webhook_url
    # Without a configured secret, a fresh one per start still authenticates Telegram's calls.
    secret = current.telegram_webhook_secret or secrets.token_urlsafe(32)
    routes: list[BaseRoute] = []
    if webhook_url:
        routes.append(webhook_route(application, secret=secret, path=WEBHOOK_PATH))

    @asynccontextmanager
    async def bot_lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runner.start(application, webhook_url=webhook_url or None,
                           secret=secret if webhook_url else None)
        try:
            yield
        finally:
            await runner.stop(application)

    return routes, bot_lifespan


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Adresse d'écoute.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port d'écoute.")] = 8000,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Processus web (plus d'un : PostgreSQL seulement).")] = 1,
    no_bot: Annotated[bool, typer.Option(
        "--no-bot", help="Sans le bot : il tourne à part (« svp bot », service svp-bot).")]
    = False,
    no_mail: Annotated[bool, typer.Option(
        "--no-mail", help="Sans l'envoi des courriels : il tourne à part (« svp mail », "
                          "service svp-mail).")] = False,
    demo: Annotated[bool, typer.Option(
        "--demo", help="Sur une base vide, crée des données de démonstration.")] = False,
) -> None:
    """Lance l'administration web (et le bot Telegram si SVP_TELEGRAM_TOKEN est défini)."""
    current = settings()
    bot_here = bool(current.telegram_token) and not no_bot
    with open_knowledge(current, require_schema=False) as knowledge:
        if workers > 1 and is_sqlite(knowledge.engine):
            raise OperatorError(
                f"--workers {workers} demande PostgreSQL (SVP_DATABASE_URL) : SQLite n'accepte "
                "qu'un processus web. Relancez avec --workers 1 ou passez sur PostgreSQL.")
        separate = workers > 1 or no_bot
        if separate and current.telegram_token and current.telegram_webhook_url \
                and not current.telegram_webhook_secret:
            raise OperatorError(
                "SVP_TELEGRAM_WEBHOOK_SECRET est obligatoire quand le webhook est servi par des "
                "processus web séparés du bot (--workers, --no-bot) : tous doivent connaître le "
                "même secret.")
        migrate.current_revision(knowledge.engine)  # the database answers before a key is made
        keys = sealing_keys(current)
        sealer = keys.sealer()
        migrate.upgrade(knowledge.engine, secret_keys=keys.keys)
        _warn_unreadable_secrets(knowledge, sealer)
        if demo:
            _create_demo(knowledge)
        if not separate:
            _serve_one_process(current, knowledge, sealer, host=host, port=port,
                               with_mail=not no_mail)
            return
    _serve_workers(current, host=host, port=port, workers=workers, with_bot=bot_here,
                   with_mail=not no_mail)


def _serve_one_process(current: Settings, knowledge: Knowledge, sealer: SecretSealer, *,
                       host: str, port: int, with_mail: bool) -> None:
    """One web process, running the bot too when a token is set (the demo and small sites)."""
    import uvicorn

    from admin.app import create_app

    routes: list[BaseRoute] = []
    lifespan = None
    if current.telegram_token:
        routes, lifespan = _bot_parts(current, knowledge)
        mode = "webhook" if current.telegram_webhook_url else "interrogation (polling)"
        typer.echo(f"Bot Telegram : activé, mode {mode}.")
    else:
        typer.echo("Bot Telegram : désactivé (SVP_TELEGRAM_TOKEN non défini).")
    web = create_app(knowledge=knowledge, config=admin_config(current, sealer=sealer),
                     extra_routes=routes, lifespan=lifespan)
    worker = mail_service(knowledge, current) if with_mail else None
    typer.echo("Courriels : " + _mail_state(current, worker is not None))
    typer.echo(f"Administration web : http://{host}:{port}/ (Ctrl+C pour arrêter)")
    if worker is not None:
        worker.start()
    try:
        uvicorn.run(web, **_uvicorn_options(current, host=host, port=port))
    finally:
        if worker is not None:
            worker.stop()


def _mail_state(current: Settings, here: bool) -> str:
    if here:
        return "activés" + (" (envoi et lecture de la boîte)." if current.mail_imap_host
                            else " (envoi).")
    if current.mail_smtp_host or current.mail_imap_host:
        return "pas dans ces processus (--no-mail) ; lancez « svp mail »."
    return "désactivés (SVP_MAIL_SMTP_HOST et SVP_MAIL_IMAP_HOST non définis)."


def _serve_workers(current: Settings, *, host: str, port: int, workers: int,
                   with_bot: bool, with_mail: bool) -> None:
    """N web worker processes (uvicorn restarts one that dies) and, if asked, one bot child."""
    import uvicorn

    from svp.supervision import ChildProcess

    bot = None
    if with_bot:
        bot = ChildProcess([sys.executable, "-m", "svp", "bot"], name="bot")
        bot.start()
        typer.echo("Bot Telegram : activé, dans un processus à part (un seul).")
    elif current.telegram_token:
        typer.echo("Bot Telegram : pas dans ces processus (--no-bot) ; lancez « svp bot ».")
    else:
        typer.echo("Bot Telegram : désactivé (SVP_TELEGRAM_TOKEN non défini).")
    if current.telegram_token and current.telegram_webhook_url:
        typer.echo(f"Webhook Telegram : servi par les processus web sur {WEBHOOK_PATH}.")
    mailer = None
    if with_mail and (current.mail_smtp_host or current.mail_imap_host):
        mailer = ChildProcess([sys.executable, "-m", "svp", "mail"], name="mail")
        mailer.start()
        typer.echo("Courriels : activés, dans un processus à part (un seul).")
    else:
        typer.echo("Courriels : " + _mail_state(current, False))
    typer.echo(f"Administration web : http://{host}:{port}/, {workers} processus "
               "(Ctrl+C pour arrêter)")
    try:
        uvicorn.run("svp.webapp:create_web_app", factory=True, workers=workers,
                    **_uvicorn_options(current, host=host, port=port))
    finally:
        if bot is not None:
            bot.stop()
        if mailer is not None:
            mailer.stop()


def _uvicorn_options(current: Settings, *, host: str, port: int) -> dict[str, Any]:
    # Client addresses (throttling, session list) come from X-Forwarded-For only when sent
    # by a proxy the operator listed; otherwise anyone could pick their address.
    proxies = current.trusted_proxies
    return {"host": host, "port": port, "log_level": "info", "log_config": _log_config(),
            "proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}


def _log_config() -> dict[str, Any]:
    """uvicorn's own logging, with query strings dropped from the access lines."""
    import uvicorn.config

    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"no_query": {"()": redaction.NoQueryStrings}}
    config["handlers"]["access"]["filters"] = ["no_query"]
    return config


def _warn_unreadable_secrets(knowledge: Knowledge, sealer: SecretSealer) -> None:
    """Say at start, not at someone's next login, when the key cannot open stored secrets."""
    from knowledge.people import second_factor

    with knowledge.reading() as session:
        check = second_factor.check_secrets(session=session, sealer=sealer)
    if check.unreadable:
        typer.echo(f"Attention : la clé de chiffrement (empreinte {sealer.key_id}) n'ouvre pas "
                   f"le secret de double authentification de {len(check.unreadable)} compte(s) "
                   "; rétablissez la clé d'origine (voir « svp secrets check »).", err=True)


def _create_demo(knowledge: Knowledge) -> None:
    from svp import demo

    typer.echo("Préparation des données de démonstration…")
    accounts = demo.create_demo(knowledge)
    if accounts is None:
        typer.echo("Données existantes conservées : la démonstration n'a rien ajouté.")
        return
    typer.echo(f"Démonstration créée : {accounts.entries_created} fiches "
               f"({demo.ATTRIBUTION}), {accounts.tickets_created} questions.")
    typer.echo("Comptes de démonstration (mots de passe affichés une seule fois) :")
    typer.echo(f"  conseiller : {accounts.adviser_login} / {accounts.adviser_password}")
    typer.echo(f"  administrateur : {accounts.admin_login} / {accounts.admin_password}")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise OperatorError("aucun mot de passe lu sur l'entrée standard.")
        return password
    first: str = typer.prompt("Mot de passe", hide_input=True)
    second: str = typer.prompt("Mot de passe (à nouveau)", hide_input=True)
    if first != second:
        raise OperatorError("les deux mots de passe saisis sont différents.")
    return first


@user_app.command("add")
def user_add(
    login: Annotated[str, typer.Argument(help="Identifiant de connexion.")],
    role: Annotated[str, typer.Option(help="Rôle : adviser (conseiller) ou admin.")] = "adviser",
    name: Annotated[str | None, typer.Option(help="Nom affiché.")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Lit le mot de passe sur l'entrée standard.")] = False,
) -> None:
    """Crée un compte (le mot de passe est demandé deux fois)."""
    parsed_role = advisers.parse_role(role)
    advisers.normalise_login(login)
    password = _read_password(password_stdin)
    with open_knowledge() as knowledge, knowledge.session() as session:
        user = advisers.create(session=session, login=login, password=password,
                               role=parsed_role, display_name=name, actor="cli")
        created = user.login
    label = "administrateur" if parsed_role.value == "admin" else "conseiller"
    typer.echo(f"Compte « {created} » créé ({label}).")


@user_app.command("passwd")
def user_passwd(
    login: Annotated[str, typer.Argument(help="Identifiant du compte.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Lit le mot de passe sur l'entrée standard.")] = False,
) -> None:
    """Change le mot de passe d'un compte et ferme ses sessions."""
    with open_knowledge() as knowledge:
        with knowledge.session() as session:
            user_id = advisers.get_by_login(session=session, login=login).id
        password = _read_password(password_stdin)
        with knowledge.session() as session:
            advisers.change_password(session=session, user_id=user_id, new_password=password,
                                     actor="cli")
    typer.echo(f"Mot de passe de « {login} » changé ; ses sessions sont fermées.")


@user_app.command("disable")
def user_disable(login: Annotated[str, typer.Argument(help="Identifiant du compte.")]) -> None:
    """Désactive un compte et ferme ses sessions."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        user = advisers.get_by_login(session=session, login=login)
        advisers.disable(session=session, user_id=user.id, actor="cli")
    typer.echo(f"Compte « {login} » désactivé ; ses sessions sont fermées.")


@user_app.command("second-factor-off")
def user_second_factor_off(
        login: Annotated[str, typer.Argument(help="Identifiant du compte.")]) -> None:
    """Retire la double authentification d'un compte (téléphone et codes de secours perdus)."""
    from knowledge.people import second_factor

    with open_knowledge() as knowledge, knowledge.session() as session:
        user = advisers.get_by_login(session=session, login=login)
        second_factor.disable(session=session, user_id=user.id, actor="cli")
        advisers.revoke_user_sessions(session=session, user_id=user.id)
    typer.echo(f"Double authentification de « {login} » retirée ; ses sessions sont fermées.")


@user_app.command("list")
def user_list() -> None:
    """Liste les comptes."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        rows = [(u.login, u.display_name, u.role, u.active, u.telegram_chat_id is not None)
                for u in advisers.list_users(session=session)]
    if not rows:
        typer.echo("Aucun compte. Créez-en un avec « svp user add LOGIN --role admin ».")
        return
    for login, display_name, role, active, linked in rows:
        label = "administrateur" if role == "admin" else "conseiller"
        state = "actif" if active else "désactivé"
        telegram = ", Telegram lié" if linked else ""
        typer.echo(f"{login}\t{display_name}\t{label}\t{state}{telegram}")
