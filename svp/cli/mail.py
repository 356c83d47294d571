"""`svp mail`: the worker that sends the outbox's emails (answers to help-centre questions)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from svp.cli.base import OperatorError, app, open_knowledge, settings


@app.command("mail")
def run_mail(
    once: Annotated[bool, typer.Option(
        "--once", help="Envoie les courriels dus puis s'arrête (sinon : tourne jusqu'à l'arrêt).")]
    = False,
) -> None:
    """Le canal courriel : envoie les courriels en attente et, avec SVP_MAIL_IMAP_HOST, lit la
    boîte des questions et les traite ; Ctrl+C arrête.

    Un seul suffit par service. « svp serve » en lance un lui-même quand SVP_MAIL_SMTP_HOST ou
    SVP_MAIL_IMAP_HOST est défini (sauf --no-mail).
    """
    from mail.delivery import drain
    from mail.processing import process_pending
    from svp.mailwiring import intake_config, mail_delivery, mail_service

    current = settings()
    if not current.mail_smtp_host and not current.mail_imap_host:
        raise OperatorError("aucun serveur de courriel : définissez SVP_MAIL_SMTP_HOST (envoi) "
                            "et SVP_MAIL_IMAP_HOST (réception des questions).")
    with open_knowledge(current) as knowledge:
        if once:
            if current.mail_imap_host:
                done = process_pending(knowledge, intake_config(current))
                typer.echo(f"Courriels reçus traités : {done}.")
            delivery = mail_delivery(current)
            if delivery is not None:
                report = drain(knowledge, delivery)
                typer.echo(f"Courriels : {report.sent} envoyé(s), {report.retried} à "
                           f"réessayer, {report.failed} en échec.")
            return
        service = mail_service(knowledge, current)
        assert service is not None
        stopped = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            del signum, frame
            stopped.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        parts = [f"envoi par {current.mail_smtp_host}" if service.sender else "",
                 f"lecture de {current.mail_imap_user}@{current.mail_imap_host}"
                 if service.reader else ""]
        typer.echo("Courriels : " + ", ".join(part for part in parts if part)
                   + " ; Ctrl+C pour arrêter.", err=True)
        service.start()
        try:
            stopped.wait()
        finally:
            service.stop()
