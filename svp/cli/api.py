"""`svp api token ...`: personal tokens of the JSON API (create, list, revoke)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from knowledge.errors import InvalidInput
from knowledge.people import advisers, api_tokens
from knowledge.store.api_models import ApiToken
from knowledge.store.models import User
from knowledge.timeutil import utcnow
from svp.cli.base import app, open_knowledge

api_app = typer.Typer(help="API JSON (/api/v1) : jetons d'accès personnels.",
                      no_args_is_help=True)
token_app = typer.Typer(help="Jetons d'accès de l'API : création, liste, révocation.",
                        no_args_is_help=True)
api_app.add_typer(token_app, name="token")
app.add_typer(api_app, name="api")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def state_label(token: ApiToken, now: datetime | None = None) -> str:
    """The French state of a token: actif, révoqué or expiré."""
    if token.revoked_at is not None:
        return "révoqué"
    return "actif" if api_tokens.is_live(token, now) else "expiré"


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Nom du jeton (l'outil qui l'utilisera).")],
    user: Annotated[str | None, typer.Option(
        "--user", help="Compte (conseiller ou administrateur) au nom duquel le jeton agit "
                       "(par défaut : l'administrateur, s'il n'y en a qu'un).")] = None,
    scope: Annotated[str, typer.Option(help="Portée : read (lecture) ou write (écriture).")
                     ] = "read",
    expires: Annotated[int | None, typer.Option(
        "--expires", metavar="JOURS", help="Validité en jours (par défaut : sans fin).")
                       ] = None,
) -> None:
    """Crée un jeton ; il est affiché une seule fois, sur la dernière ligne."""
    parsed = api_tokens.parse_scope(scope)
    with open_knowledge() as knowledge, knowledge.session() as session:
        owner = (advisers.get_by_login(session=session, login=user) if user is not None
                 else _only_admin(advisers.active_admins(session=session)))
        issued = api_tokens.create(session=session, name=name, user_id=owner.id, scope=parsed,
                                   expires_days=expires, actor="cli")
        number, until, login = issued.token.id, issued.token.expires_at, owner.login
    label = "lecture" if parsed is api_tokens.TokenScope.READ else "écriture"
    validity = f"jusqu'au {_when(until)} UTC" if until else "sans date de fin"
    typer.echo(f"Jeton n° {number} « {name.strip()} » créé pour « {login} » ({label}, "
               f"{validity}).")
    typer.echo("Copiez-le maintenant : il ne sera plus jamais affiché.")
    typer.echo(issued.secret)


def _only_admin(admins: list[User]) -> User:
    # Without --user the owner must be unambiguous: the only active administrator.
    if len(admins) == 1:
        return admins[0]
    if not admins:
        raise InvalidInput("Aucun compte administrateur actif : précisez le compte avec "
                           "--user LOGIN.")
    logins = ", ".join(admin.login for admin in admins)
    raise InvalidInput(f"Plusieurs administrateurs ({logins}) : précisez le compte avec "
                       "--user LOGIN.")


@token_app.command("list")
def token_list() -> None:
    """Liste les jetons (jamais le jeton lui-même : son début seulement)."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        logins = {u.id: u.login for u in advisers.list_users(session=session)}
        now = utcnow()
        rows = [(t.id, t.name, t.prefix, logins.get(t.user_id, "?"), t.scope,
                 state_label(t, now), t.created_at, t.expires_at, t.last_used_at)
                for t in api_tokens.list_tokens(session=session)]
    if not rows:
        typer.echo("Aucun jeton. Créez-en un avec « svp api token create NOM [--user LOGIN] ».")
        return
    typer.echo("n°\tnom\tdébut\tcompte\tportée\tétat\tcréé\texpire\tdernier usage")
    for number, name, prefix, login, scope, state, created, expires, used in rows:
        typer.echo(f"{number}\t{name}\t{prefix}…\t{login}\t{scope}\t{state}\t{_when(created)}"
                   f"\t{_when(expires)}\t{_when(used)}")


@token_app.command("revoke")
def token_revoke(
        number: Annotated[int, typer.Argument(help="Numéro du jeton (voir « list »).")]) -> None:
    """Révoque un jeton : il est refusé (401) dès l'appel suivant."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        token = api_tokens.revoke(session=session, token_id=number, actor="cli")
        name = token.name
    typer.echo(f"Jeton n° {number} « {name} » révoqué.")
