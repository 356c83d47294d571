"""The sector glossary: terms and their equivalents, edited by advisers, used by the search.

Each term (an acronym such as CALEOL, jargon, an older name) lists forms that mean the same
thing. Every form of a term is equivalent to every other: a query that says "surloyer" is also
looking for "supplément de loyer de solidarité" and "SLS". Where the search uses this was
measured (docs/retrieval.md): the lexical signal accepts any equivalent form of a query's
words, and the cosine of the embeddings is left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import Conflict, InvalidInput, NotFound
from knowledge.store.vocabulary import GlossaryTerm
from knowledge.text import clean, fold, read_utf8_file
from knowledge.timeutil import utcnow

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "data" / "glossary.jsonl"
MAX_TERM = 200
MAX_FORM = 300
MAX_SYNONYMS = 30


@dataclass(frozen=True)
class GlossaryRecord:
    """A term as people write it: the term, its equivalent forms and an optional note."""

    term: str
    synonyms: tuple[str, ...]
    note: str | None = None

    def as_json(self) -> dict[str, object]:
        """The record as one line of the glossary's JSONL format."""
        return {"term": self.term, "synonyms": list(self.synonyms), "note": self.note}


def term_key(text: str) -> str:
    """Return the key that makes two spellings of a term the same term (case, accents)."""
    return fold(text)


def synonyms_of(row: GlossaryTerm) -> tuple[str, ...]:
    """Return the stored equivalent forms of a term."""
    return tuple(line for line in row.synonyms.split("\n") if line)


def record_of(row: GlossaryTerm) -> GlossaryRecord:
    """Return the record of a stored term."""
    return GlossaryRecord(term=row.term, synonyms=synonyms_of(row), note=row.note)


def checked(*, term: str, synonyms: Iterable[str], note: str | None = None) -> GlossaryRecord:
    """Clean a term given by a person; raise InvalidInput with the reason in French."""
    name = " ".join(clean(term).split())
    if not term_key(name):
        raise InvalidInput("Le terme est vide.")
    if len(name) > MAX_TERM:
        raise InvalidInput(f"Le terme dépasse {MAX_TERM} caractères.")
    forms: list[str] = []
    keys = {term_key(name)}
    for raw in synonyms:
        form = " ".join(clean(raw).split())
        key = term_key(form)
        if not key or key in keys:
            continue
        if len(form) > MAX_FORM:
            raise InvalidInput(f"L'équivalent « {form[:40]}… » dépasse {MAX_FORM} caractères.")
        keys.add(key)
        forms.append(form)
    if not forms:
        raise InvalidInput(f"Le terme « {name} » n'a aucun équivalent (sigle développé, "
                           "synonyme ou ancien nom).")
    if len(forms) > MAX_SYNONYMS:
        raise InvalidInput(f"Le terme « {name} » a plus de {MAX_SYNONYMS} équivalents.")
    text = clean(note or "").strip() or None
    return GlossaryRecord(term=name, synonyms=tuple(forms), note=text)


# --- services ------------------------------------------------------------------------------


def list_terms(*, session: Session) -> list[GlossaryTerm]:
    """Return every term, in alphabetical order of its key."""
    return list(session.scalars(select(GlossaryTerm).order_by(GlossaryTerm.term_key)))


def get_term(*, session: Session, term_id: int) -> GlossaryTerm:
    """Return one term or raise NotFound."""
    row = session.get(GlossaryTerm, term_id)
    if row is None:
        raise NotFound("glossary_term", term_id)
    return row


def _same_key(session: Session, key: str, exclude: int | None = None) -> GlossaryTerm | None:
    query = select(GlossaryTerm).where(GlossaryTerm.term_key == key)
    if exclude is not None:
        query = query.where(GlossaryTerm.id != exclude)
    return session.scalars(query).first()


def create_term(*, session: Session, record: GlossaryRecord, actor: str) -> GlossaryTerm:
    """Add a term; raise Conflict when the glossary already has it."""
    key = term_key(record.term)
    if _same_key(session, key) is not None:
        raise Conflict(f"Le glossaire contient déjà le terme « {record.term} ».")
    row = GlossaryTerm(term=record.term, term_key=key, synonyms="\n".join(record.synonyms),
                       note=record.note, updated_by=actor, updated_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="glossary.create",
                 object_type="glossary_term", object_id=row.id, details={"term": row.term})
    return row


def update_term(*, session: Session, term_id: int, record: GlossaryRecord,
                actor: str) -> GlossaryTerm:
    """Change a term and its equivalents; raise Conflict when the new term exists already."""
    row = get_term(session=session, term_id=term_id)
    key = term_key(record.term)
    if _same_key(session, key, exclude=row.id) is not None:
        raise Conflict(f"Le glossaire contient déjà le terme « {record.term} ».")
    row.term = record.term
    row.term_key = key
    row.synonyms = "\n".join(record.synonyms)
    row.note = record.note
    row.updated_by = actor
    row.updated_at = utcnow()
    audit.record(session=session, actor=actor, action="glossary.update",
                 object_type="glossary_term", object_id=row.id, details={"term": row.term})
    return row


def delete_term(*, session: Session, term_id: int, actor: str) -> None:
    """Remove a term from the glossary."""
    row = get_term(session=session, term_id=term_id)
    audit.record(session=session, actor=actor, action="glossary.delete",
                 object_type="glossary_term", object_id=row.id, details={"term": row.term})
    session.delete(row)
    session.flush()


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    created: int
    updated: int
    unchanged: int


def import_records(*, session: Session, records: Sequence[GlossaryRecord],
                   actor: str) -> ImportReport:
    """Add new terms and update the others (matched by term, whatever the case or accents)."""
    existing = {row.term_key: row for row in list_terms(session=session)}
    created = updated = unchanged = 0
    now = utcnow()
    for record in records:
        key = term_key(record.term)
        row = existing.get(key)
        synonyms = "\n".join(record.synonyms)
        if row is None:
            row = GlossaryTerm(term=record.term, term_key=key, synonyms=synonyms,
                               note=record.note, updated_by=actor, updated_at=now)
            session.add(row)
            existing[key] = row
            created += 1
        elif (row.term, row.synonyms, row.note) == (record.term, synonyms, record.note):
            unchanged += 1
        else:
            row.term, row.synonyms, row.note = record.term, synonyms, record.note
            row.updated_by, row.updated_at = actor, now
            updated += 1
    session.flush()
    audit.record(session=session, actor=actor, action="glossary.import",
                 object_type="glossary_term", details={"created": created, "updated": updated})
    return ImportReport(created=created, updated=updated, unchanged=unchanged)


def parse_jsonl(*, lines: Iterable[str]) -> list[GlossaryRecord]:
    """Parse the glossary's JSONL format; raise InvalidInput naming the line and the reason."""
    records: list[GlossaryRecord] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise InvalidInput(f"ligne {number} : JSON invalide (colonne {error.colno}).") from None
        if not isinstance(value, dict) or not isinstance(value.get("term"), str):
            raise InvalidInput(f"ligne {number} : un objet avec un champ « term » est attendu.")
        synonyms = value.get("synonyms")
        if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
            raise InvalidInput(f"ligne {number} : « synonyms » doit être une liste de textes.")
        note = value.get("note")
        if note is not None and not isinstance(note, str):
            raise InvalidInput(f"ligne {number} : « note » doit être un texte.")
        try:
            record = checked(term=value["term"], synonyms=synonyms, note=note)
        except InvalidInput as error:
            raise InvalidInput(f"ligne {number} : {error}") from None
        key = term_key(record.term)
        if key in seen:
            raise InvalidInput(f"ligne {number} : terme en double (déjà ligne {seen[key]}).")
        seen[key] = number
        records.append(record)
    return records


def load_file(*, path: Path) -> list[GlossaryRecord]:
    """Read a glossary JSONL file; raise InvalidInput with a French reason when unusable."""
    text = read_utf8_file(path)
    try:
        return parse_jsonl(lines=text.splitlines())
    except InvalidInput as error:
        raise InvalidInput(f"{path.name}, {error}") from None


def export_lines(*, session: Session) -> list[str]:
    """Return the glossary as JSONL lines (the format `import_records` reads back)."""
    return [json.dumps(record_of(row).as_json(), ensure_ascii=False)
            for row in list_terms(session=session)]


def default_records() -> list[GlossaryRecord]:
    """The glossary shipped with the application (knowledge/data/glossary.jsonl)."""
    return load_file(path=DEFAULT_FILE)


def signature(*, session: Session | Connection) -> tuple[int, object, object]:
    """A cheap fingerprint of the glossary: it changes when a term is added, edited or removed."""
    row = session.execute(select(func.count(), func.max(GlossaryTerm.updated_at),
                                 func.sum(GlossaryTerm.id))).one()
    return int(row[0]), row[1], row[2]


def all_records(*, session: Session | Connection) -> list[GlossaryRecord]:
    """Every term as a record (for building the matcher)."""
    rows = session.execute(select(GlossaryTerm.term, GlossaryTerm.synonyms, GlossaryTerm.note)
                           .order_by(GlossaryTerm.term_key)).all()
    return [GlossaryRecord(term=row.term,
                           synonyms=tuple(line for line in row.synonyms.split("\n") if line),
                           note=row.note) for row in rows]
