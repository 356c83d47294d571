"""`svp mail`: the worker that sends the outbox's emails (answers to help-centre questions)."""

from __future__ import annotations

import signal
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
    """Envoie les courriels en attente (réponses aux questions du centre d'aide) ; Ctrl+C arrête.

    Un seul suffit par service ; plusieurs ne s'envoient jamais deux fois la même ligne
    (PostgreSQL). « svp serve » en lance un lui-même quand SVP_MAIL_SMTP_HOST est défini.
    """
    from mail.delivery import drain
    from svp.mailwiring import mail_delivery

    current = settings()
    delivery = mail_delivery(current)
    if delivery is None:
        raise OperatorError("aucun serveur de courriel : définissez SVP_MAIL_SMTP_HOST (et "
                            "SVP_MAIL_SMTP_PORT, SVP_MAIL_SMTP_SECURITY, SVP_MAIL_FROM).")
    with open_knowledge(current) as knowledge:
        if once:
            report = drain(knowledge, delivery)
            typer.echo(f"Courriels : {report.sent} envoyé(s), {report.retried} à réessayer, "
                       f"{report.failed} en échec.")
            return
        from mail.delivery import MailWorker

        worker = MailWorker(knowledge, delivery)

        def stop(signum: int, frame: FrameType | None) -> None:
            del signum, frame
            worker.request_stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        typer.echo(f"Envoi des courriels par {delivery.smtp.host}:{delivery.smtp.port} ; "
                   "Ctrl+C pour arrêter.", err=True)
        worker.run()
