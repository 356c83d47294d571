"""The confirmation rule for publishing texts in which personal data was found."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from knowledge import audit, privacy


def check(*, session: Session, texts: Iterable[str], confirmed: bool, actor: str,
          object_type: str, object_id: object, where: str = "La fiche à publier") -> list[
              privacy.Finding]:
    """Refuse to publish personal data unless confirmed; a confirmation is audited (counts)."""
    findings = [finding for text in texts for finding in privacy.scan(text or "")]
    if not findings:
        return findings
    if not confirmed:
        raise privacy.PersonalDataFound(findings, where=where)
    # Kinds and counts only: the audit log is append-only and must not keep the data itself.
    audit.record(session=session, actor=actor, action="privacy.confirm",
                 object_type=object_type, object_id=object_id,
                 details={"personal_data": privacy.counts(findings)})
    return findings
