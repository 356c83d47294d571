"""`svp secrets ...`: the key sealing secrets at rest (create, check, rotate)."""

from __future__ import annotations

from pathlib import Path

import typer

from knowledge.people import second_factor
from knowledge.people.sealed_secrets import SecretSealer, key_id
from knowledge.runtime import Knowledge
from svp import secret_keys
from svp.cli.base import OperatorError, app, open_knowledge, sealing_keys, settings
from svp.secret_keys import SecretKeys

secrets_app = typer.Typer(
    help="Clé de chiffrement des secrets (double authentification) : création, contrôle, "
    "rotation.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")


def _source(keys: SecretKeys) -> str:
    return "SVP_SECRET_KEY" if keys.key_file is None else f"fichier {keys.key_file}"


@secrets_app.command("init")
def secrets_init() -> None:
    """Crée le fichier de clé du dossier des données s'il n'existe pas (sans SVP_SECRET_KEY)."""
    current = settings()
    keys = secret_keys.load(current)
    fingerprint = key_id(keys.keys[0])
    if keys.created:
        typer.echo(f"Clé de chiffrement créée : {keys.key_file} (empreinte {fingerprint}) ; "
                   "sauvegardez ce fichier.")
    else:
        typer.echo(f"Clé de chiffrement déjà en place : {_source(keys)} "
                   f"(empreinte {fingerprint}).")


@secrets_app.command("check")
def secrets_check() -> None:
    """Vérifie que la clé ouvre chaque secret de double authentification enregistré."""
    current = settings()
    keys = sealing_keys(current)
    sealer = keys.sealer()
    with open_knowledge(current) as knowledge, knowledge.reading() as session:
        check = second_factor.check_secrets(session=session, sealer=sealer)
    typer.echo(f"Clé de chiffrement : {_source(keys)} (empreinte {sealer.key_id}).")
    typer.echo(f"Secrets de double authentification : {check.current} sous la clé actuelle, "
               f"{check.older_key} sous une ancienne clé, {len(check.unreadable)} illisible(s).")
    if check.unreadable:
        raise OperatorError(_unreadable(check.unreadable))
    if check.older_key:
        typer.echo("Lancez « svp secrets rotate » pour les chiffrer tous sous la clé actuelle.")


def _unreadable(logins: tuple[str, ...]) -> str:
    return (f"{len(logins)} secret(s) illisible(s) avec les clés configurées (comptes : "
            f"{', '.join(logins)}) : rétablissez la clé d'origine, ou retirez leur double "
            "authentification (« svp user second-factor-off LOGIN »).")


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Chiffre à nouveau chaque secret sous une nouvelle clé (fichier) ou sous SVP_SECRET_KEY."""
    current = settings()
    keys = sealing_keys(current)
    with open_knowledge(current) as knowledge:
        with knowledge.reading() as session:
            check = second_factor.check_secrets(session=session, sealer=keys.sealer())
        if check.unreadable:  # refused before anything changes
            raise OperatorError(_unreadable(check.unreadable))
        if keys.key_file is None:
            _rotate_under_environment_key(knowledge, keys)
        else:
            _rotate_key_file(knowledge, keys, keys.key_file)


def _rotate_key_file(knowledge: Knowledge, keys: SecretKeys, path: Path) -> None:
    """Draw a new key; the file holds both keys for as long as any row may need the old one."""
    fresh = secret_keys.new_key()
    both = [fresh, *keys.keys]
    sealer = SecretSealer(both)
    # Step 1: both keys in the file. From here on, whichever of the old or new key a row is
    # under, the file opens it, whatever happens to this process.
    secret_keys.write_key_file(path, both)
    try:
        with knowledge.session() as session:  # step 2: one transaction for every row
            count = second_factor.reseal_secrets(session=session, sealer=sealer, actor="cli")
    except Exception:
        secret_keys.write_key_file(path, list(keys.keys))  # nothing changed: nor does the file
        raise
    # A running service rereads the file before sealing, but one may have sealed under the old
    # key just before step 1 and committed after step 2 read its rows: seal those too.
    with knowledge.session() as session:
        count += second_factor.reseal_secrets(session=session, sealer=sealer, actor="cli")
    secret_keys.write_key_file(path, [fresh])  # step 3: the old key goes
    typer.echo(f"{count} secret(s) de double authentification chiffré(s) sous la nouvelle clé "
               f"(empreinte {sealer.key_id}) ; l'ancienne clé est retirée de {path}. "
               "Sauvegardez ce fichier à nouveau.")


def _rotate_under_environment_key(knowledge: Knowledge, keys: SecretKeys) -> None:
    """Seal under SVP_SECRET_KEY what the previous keys (or an old key file) had sealed."""
    sealer = keys.sealer()
    with knowledge.session() as session:
        count = second_factor.reseal_secrets(session=session, sealer=sealer, actor="cli")
    if count:
        typer.echo(f"{count} secret(s) de double authentification chiffré(s) sous "
                   f"SVP_SECRET_KEY (empreinte {sealer.key_id}) ; les anciennes clés "
                   "(SVP_SECRET_KEY_PREVIOUS, fichier de clé) ne sont plus nécessaires.")
        return
    typer.echo(f"Aucun secret à chiffrer à nouveau : tous le sont déjà sous SVP_SECRET_KEY "
               f"(empreinte {sealer.key_id}). Pour changer de clé : mettez la clé actuelle dans "
               "SVP_SECRET_KEY_PREVIOUS et une nouvelle dans SVP_SECRET_KEY (par exemple "
               "« openssl rand -base64 32 »), redémarrez le service, puis relancez "
               "« svp secrets rotate ».")
