"""DILA LEGI archives built in the tests: a global dump and daily increments, as published.

The layout and the XML schema are those of the open-data files that Legilibre's legi.py
(`legi.tar2sqlite.process_archive`) reads: `legi/global/code_et_TNC_en_vigueur/code_en_vigueur/
LEGI/TEXT/00/00/06/07/40/LEGITEXT000006074096/article/LEGI/ARTI/00/00/06/89/62/
LEGIARTI000006896262.xml`, the five two-digit folders being an id's digits 8 to 17 by pairs;
an increment prefixes every path with its timestamp folder (`20261203-213000/legi/global/…`)
and may carry a `liste_suppression_legi.dat`.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import random
import re
import tarfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

CCH_CID = "LEGITEXT000006074096"
CCH_TITLE = "Code de la construction et de l'habitation"
OPEN_END = "2999-01-01"  # LEGI's "no end date"
IN_FORCE = ("VIGUEUR", "VIGUEUR_DIFF")  # a text in any other state lives under non_vigueur


@dataclass(frozen=True)
class ArticleVersion:
    """One version of one article, i.e. one LEGIARTI file."""

    id: str
    num: str
    etat: str
    date_debut: str
    date_fin: str = OPEN_END
    text: str = ""
    cid: str = CCH_CID
    code_title: str = CCH_TITLE
    section_id: str = "LEGISCTA000006159097"
    section_title: str = (
        "Section 1 : Conditions d'attribution des logements et plafonds de ressources")


@dataclass(frozen=True)
class TextVersion:
    """One version of a text (code, law, decree…), i.e. one `texte/version` file."""

    id: str
    cid: str
    nature: str
    num: str | None
    date_texte: str
    titre: str
    titrefull: str
    etat: str
    date_debut: str
    date_fin: str = OPEN_END
    nor: str | None = None
    date_publi: str | None = None  # the day after date_texte when None (codes: OPEN_END)
    ministere: str = ""
    visas: str = ""
    signataires: str = ""


def write_global(path: Path, *, articles: Sequence[ArticleVersion],
                 texts: Sequence[TextVersion] = (), stamp: str = "20250713-140000",
                 siblings: Sequence[ArticleVersion] = ()) -> Path:
    """Write `<path>/Freemium_legi_global_<stamp>.tar.gz` and return its path."""
    archive = path / f"Freemium_legi_global_{stamp}.tar.gz"
    _write_tar(archive, _members("", articles, texts, siblings), stamp=stamp)
    return archive


def write_increment(path: Path, *, articles: Sequence[ArticleVersion],
                    texts: Sequence[TextVersion] = (), suppressed: Sequence[str] = (),
                    stamp: str, siblings: Sequence[ArticleVersion] = ()) -> Path:
    """Write the daily increment `<path>/LEGI_<stamp>.tar.gz` and return its path.

    `suppressed` holds ids (located through `siblings`, then `articles` and `texts`) or
    whole `legi/global/…` paths; `siblings` are versions already published that only
    appear in the VERSIONS lists.
    """
    members = list(_members(f"{stamp}/", articles, texts, siblings))
    if suppressed:
        known: dict[str, str] = {}
        items: list[ArticleVersion | TextVersion] = [*texts, *articles, *siblings]
        for item in items:  # the last wins: a sibling is where the file was published
            known[item.id] = _location(item, texts)
        lines = []
        for entry in suppressed:
            if "/" in entry:
                lines.append(entry)
            elif entry in known:
                lines.append(known[entry])
            else:
                raise ValueError(f"suppressed id {entry} is in no ArticleVersion or TextVersion")
        members.append((f"{stamp}/liste_suppression_legi.dat",
                        "".join(line + "\n" for line in lines).encode("ascii")))
    archive = path / f"LEGI_{stamp}.tar.gz"
    _write_tar(archive, members, stamp=stamp)
    return archive


def folders(legi_id: str) -> str:
    """The five folders of an id: its digits 8 to 17 by pairs (`00/00/06/89/62`)."""
    digits = legi_id[8:18]
    return "/".join(digits[i:i + 2] for i in range(0, 10, 2))


def text_folder(cid: str, *, in_force: bool = True) -> str:
    """The folder of a text: `legi/global/code_et_TNC_en_vigueur/code_en_vigueur/LEGI/TEXT/…`."""
    vigueur = "en_vigueur" if in_force else "non_vigueur"
    # Codes are LEGITEXT; laws and decrees keep their Journal officiel id (JORFTEXT).
    kind = "code" if cid.startswith("LEGITEXT") else "TNC"
    return (f"legi/global/code_et_TNC_{vigueur}/{kind}_{vigueur}/"
            f"{cid[:4]}/{cid[4:8]}/{folders(cid)}/{cid}")


def _in_force(cid: str, texts: Sequence[TextVersion]) -> bool:
    states = [text.etat for text in texts if text.cid == cid]
    return not states or any(state in IN_FORCE for state in states)


def _location(item: ArticleVersion | TextVersion, texts: Sequence[TextVersion]) -> str:
    """Where the file of an article or text version lives, without `.xml`."""
    base = text_folder(item.cid, in_force=_in_force(item.cid, texts))
    return f"{base}/{_relative(item)}"[:-len(".xml")]


def _relative(item: ArticleVersion | TextVersion) -> str:
    """The path inside the text's folder, as META_COMMUN/URL gives it."""
    if isinstance(item, ArticleVersion):
        return f"article/{item.id[:4]}/{item.id[4:8]}/{folders(item.id)}/{item.id}.xml"
    return f"texte/version/{item.id}.xml"


def _members(prefix: str, articles: Sequence[ArticleVersion], texts: Sequence[TextVersion],
             siblings: Sequence[ArticleVersion]) -> Iterator[tuple[str, bytes]]:
    """The (path, content) of each file of an archive."""
    versions: dict[tuple[str, str], dict[str, ArticleVersion]] = defaultdict(dict)
    for version in (*siblings, *articles):  # an article's own state wins over a sibling's
        versions[version.cid, version.num][version.id] = version
    for text in texts:
        yield prefix + _location(text, texts) + ".xml", _text_version_xml(text)
    for article in articles:
        chain = sorted(versions[article.cid, article.num].values(),
                       key=lambda v: (v.date_debut, v.id))
        yield (prefix + _location(article, texts) + ".xml",
               _article_xml(article, chain, [t for t in texts if t.cid == article.cid]))


def _write_tar(archive: Path, members: Iterable[tuple[str, bytes]], *, stamp: str) -> None:
    """A gzipped GNU tar with its folders; every member's mtime is the archive's time."""
    mtime = int(stamp_time(stamp).timestamp())
    archive.parent.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    with gzip.GzipFile(archive, "wb", compresslevel=6, mtime=mtime) as packed, \
            tarfile.open(fileobj=packed, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, content in members:
            parts = name.split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder not in seen:
                    seen.add(folder)
                    info = tarfile.TarInfo(folder)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o644, mtime
            tar.addfile(info, io.BytesIO(content))


def stamp_time(stamp: str) -> datetime:
    """The time of an archive's stamp `YYYYMMDD-HHMMSS`."""
    return datetime.strptime(stamp, "%Y%m%d-%H%M%S").replace(tzinfo=UTC)


# XML ------------------------------------------------------------------------------------------

XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
ROMAN = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
CODE_NUM = re.compile(r"(?P<part>[LRDA])\*?(?P<livre>\d)(?P<titre>\d)(?P<chapitre>\d)\d*-")
PARTS = {"L": "Partie législative", "R": "Partie réglementaire - Décrets en Conseil d'Etat",
         "D": "Partie réglementaire - Décrets simples", "A": "Partie arrêtés"}
LIVRES = {
    "1": "Livre Ier : Construction, entretien et rénovation des bâtiments",
    "2": "Livre II : Statut des constructeurs.",
    "3": "Livre III : Aides diverses à la construction d'habitations et à l'amélioration "
         "de l'habitat - Aide personnalisée au logement.",
    "4": "Livre IV : Habitations à loyer modéré.",
    "5": "Livre V : Bâtiments menaçant ruine et immeubles collectifs à usage principal "
         "d'habitation.",
    "6": "Livre VI : Mesures tendant à remédier à des difficultés exceptionnelles de logement.",
}
SENTENCE_END = re.compile(r"(?<=\.) (?=[A-ZÉ])")
NATURES = {"loi": "LOI", "décret": "DECRET", "ordonnance": "ORDONNANCE", "arrêté": "ARRETE"}


def _content(text: str) -> str:
    """Plain paragraphs (separated by blank lines) as the `<p>` of a CONTENU element."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    if not paragraphs:
        return "<CONTENU/>"
    return "<CONTENU>\n" + "".join(f"<p>{escape(p)}</p>\n" for p in paragraphs) + "</CONTENU>"


def _section_id(*labels: str) -> str:
    """A stable LEGISCTA id for a structural level that no caller named."""
    return f"LEGISCTA{zlib.crc32('/'.join(labels).encode()) % 10**12:012d}"


def _sections(article: ArticleVersion) -> list[tuple[str, str]]:
    """The (id, title) of the nested TM levels above an article, outermost first."""
    if not article.section_id:
        return []
    levels: list[tuple[str, str]] = []
    match = CODE_NUM.match(article.num)
    if match and article.cid.startswith("LEGITEXT"):
        part, livre, titre, chapitre = match.group("part", "livre", "titre", "chapitre")
        labels = [PARTS[part], LIVRES.get(livre, f"Livre {ROMAN[int(livre)]}")]
        if titre != "0":
            labels.append(f"Titre {ROMAN[int(titre)]}")
        if chapitre != "0":
            labels.append("Chapitre Ier" if chapitre == "1" else
                          f"Chapitre {ROMAN[int(chapitre)]}")
        for depth, label in enumerate(labels):
            levels.append((_section_id(article.cid, *labels[:depth + 1]), label))
    levels.append((article.section_id, article.section_title))
    return levels


def _nature_of(title: str, cid: str) -> str:
    """A text's NATURE from its title's first word (`LOI n° …` → LOI)."""
    if cid.startswith("LEGITEXT") and title.lower().startswith("code"):
        return "CODE"
    return NATURES.get(title.split(" ", 1)[0].lower(), "CODE")


def _article_xml(article: ArticleVersion, chain: Sequence[ArticleVersion],
                 texts: Sequence[TextVersion]) -> bytes:
    """The LEGIARTI file of one article version."""
    text = texts[-1] if texts else None
    nature = text.nature if text else _nature_of(article.code_title, article.cid)
    is_code = nature == "CODE"
    signed = OPEN_END if is_code or text is None else text.date_texte
    since = chain[0].date_debut if is_code or text is None else text.date_texte
    context = {
        "autorite": "", "cid": article.cid,
        "date_publi": OPEN_END if is_code or text is None else _publi(text),
        "date_signature": signed, "ministere": text.ministere if text else "",
        "nature": nature, "nor": (text.nor or "") if text else "",
        "num": (text.num or "") if text else "", "num_parution": "", "num_sequence": "0",
        "page_deb_publi": "", "page_fin_publi": "",
    }
    attributes = " ".join(f"{key}={quoteattr(value)}" for key, value in context.items())
    title = text.titrefull if text else article.code_title
    short = text.titre if text else article.code_title
    sections = _sections(article)
    opening = "".join(
        f"<TM>\n<TITRE_TM debut={quoteattr(article.date_debut)} fin={quoteattr(OPEN_END)} "
        f"id={quoteattr(section_id)}>{escape(section_title)}</TITRE_TM>\n"
        for section_id, section_title in sections)
    versions = "".join(
        f'<VERSION etat="{v.etat}">\n<LIEN_ART debut="{v.date_debut}" etat="{v.etat}" '
        f'fin="{v.date_fin}" id="{v.id}" num={quoteattr(v.num)} origine="LEGI"/>\n</VERSION>\n'
        for v in chain)
    return (
        XML_HEADER + "<ARTICLE>\n<META>\n<META_COMMUN>\n"
        f"<ID>{article.id}</ID>\n<ANCIEN_ID/>\n<ORIGINE>LEGI</ORIGINE>\n"
        f"<URL>{_relative(article)}</URL>\n<NATURE>Article</NATURE>\n</META_COMMUN>\n"
        "<META_SPEC>\n<META_ARTICLE>\n"
        f"<NUM>{escape(article.num)}</NUM>\n<ETAT>{article.etat}</ETAT>\n"
        f"<DATE_DEBUT>{article.date_debut}</DATE_DEBUT>\n<DATE_FIN>{article.date_fin}</DATE_FIN>\n"
        f"<TYPE>{'AUTONOME' if chain[0].id == article.id else 'ENTIEREMENT_MODIF'}</TYPE>\n"
        "</META_ARTICLE>\n</META_SPEC>\n</META>\n"
        f"<CONTEXTE>\n<TEXTE {attributes}>\n"
        f"<TITRE_TXT c_titre_court={quoteattr(short)} debut={quoteattr(since)} "
        f"fin={quoteattr(OPEN_END)} id_txt={quoteattr(article.cid)}>{escape(title)}"
        "</TITRE_TXT>\n" + opening + "</TM>\n" * len(sections) + "</TEXTE>\n</CONTEXTE>\n"
        f"<VERSIONS>\n{versions}</VERSIONS>\n"
        "<NOTA>\n<CONTENU/>\n</NOTA>\n"
        f"<BLOC_TEXTUEL>\n{_content(article.text)}\n</BLOC_TEXTUEL>\n"
        "<LIENS/>\n</ARTICLE>\n"
    ).encode("utf-8")


def _publi(text: TextVersion) -> str:
    if text.date_publi:
        return text.date_publi
    if text.nature == "CODE":
        return OPEN_END
    return (date.fromisoformat(text.date_texte) + timedelta(days=1)).isoformat()


def _text_version_xml(text: TextVersion) -> bytes:
    """The `texte/version` file of one text version."""
    is_code = text.nature == "CODE"

    def tag(name: str, value: str | None) -> str:
        return f"<{name}>{escape(value)}</{name}>\n" if value else f"<{name}/>\n"

    return (
        XML_HEADER + "<TEXTE_VERSION>\n<META>\n<META_COMMUN>\n"
        f"<ID>{text.id}</ID>\n<ANCIEN_ID/>\n<ORIGINE>{text.id[:4]}</ORIGINE>\n"
        f"<URL>{_relative(text)}</URL>\n<NATURE>{text.nature}</NATURE>\n</META_COMMUN>\n"
        "<META_SPEC>\n<META_TEXTE_CHRONICLE>\n"
        f"<CID>{text.cid}</CID>\n" + tag("NUM", text.num) + "<NUM_SEQUENCE>0</NUM_SEQUENCE>\n"
        + tag("NOR", text.nor)
        + f"<DATE_PUBLI>{_publi(text)}</DATE_PUBLI>\n"
        f"<DATE_TEXTE>{OPEN_END if is_code else text.date_texte}</DATE_TEXTE>\n"
        f"<DERNIERE_MODIFICATION>{max(text.date_debut, text.date_texte)}"
        "</DERNIERE_MODIFICATION>\n"
        + tag("ORIGINE_PUBLI", "" if is_code else f"JORF du {_publi(text)}")
        + "<PAGE_DEB_PUBLI>0</PAGE_DEB_PUBLI>\n<PAGE_FIN_PUBLI>0</PAGE_FIN_PUBLI>\n"
        "</META_TEXTE_CHRONICLE>\n<META_TEXTE_VERSION>\n"
        + tag("TITRE", text.titre) + tag("TITREFULL", text.titrefull)
        + f"<ETAT>{text.etat}</ETAT>\n<DATE_DEBUT>{text.date_debut}</DATE_DEBUT>\n"
        f"<DATE_FIN>{text.date_fin}</DATE_FIN>\n<AUTORITE/>\n" + tag("MINISTERE", text.ministere)
        + "<LIENS/>\n</META_TEXTE_VERSION>\n</META_SPEC>\n</META>\n"
        f"<VISAS>\n{_content(text.visas)}\n</VISAS>\n"
        f"<SIGNATAIRES>\n{_content(text.signataires)}\n</SIGNATAIRES>\n"
        "<TP>\n<CONTENU/>\n</TP>\n<NOTA>\n<CONTENU/>\n</NOTA>\n"
        "<ABRO>\n<CONTENU/>\n</ABRO>\n<RECT>\n<CONTENU/>\n</RECT>\n</TEXTE_VERSION>\n"
    ).encode("utf-8")


# Synthetic CCH-size corpus --------------------------------------------------------------------

SUBJECTS = [
    "Le représentant de l'État dans le département", "L'organisme d'habitations à loyer modéré",
    "Le bailleur", "La commission d'attribution des logements et d'examen de l'occupation des "
    "logements", "Le maire de la commune d'implantation", "L'établissement public de "
    "coopération intercommunale", "Le locataire", "Le demandeur de logement social",
    "La société d'économie mixte de construction et de gestion de logements sociaux",
    "L'Agence nationale de contrôle du logement social", "Le ministre chargé du logement",
]
VERBS = [
    "fixe", "notifie", "transmet chaque année", "réserve", "assure", "communique sans délai",
    "arrête", "publie", "établit", "contrôle", "met à jour",
]
OBJECTS = [
    "l'attribution des logements locatifs sociaux", "la liste des candidats retenus",
    "le plafond de ressources applicable", "la part des logements réservés aux personnes "
    "prioritaires", "l'enquête sur l'occupation du parc social", "le supplément de loyer de "
    "solidarité", "les conditions d'occupation du logement", "la convention de réservation",
    "le rapport annuel d'activité", "les modalités de la cotation de la demande",
]
COMPLEMENTS = [
    "dans des conditions fixées par décret en Conseil d'État",
    "après avis de la commission mentionnée à l'article L. 441-2",
    "dans un délai de deux mois à compter de la réception de la demande",
    "en tenant compte du patrimoine, de la composition et du niveau de ressources du ménage",
    "selon les modalités prévues par le règlement départemental",
    "sous réserve des dispositions de l'article L. 442-3-1",
    "au vu des pièces justificatives dont la liste est fixée par arrêté",
    "à l'exception des logements faisant l'objet d'une convention",
]


def _sentence(rng: random.Random) -> str:
    sentence = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    if rng.random() < 0.8:
        sentence += f" {rng.choice(COMPLEMENTS)}"
    return sentence + "."


def _paragraph(rng: random.Random) -> str:
    """One paragraph of 300 to 1,500 characters of plausible French legal prose."""
    target = rng.randint(300, 1500)
    sentences = [_sentence(rng)]
    while len(" ".join(sentences)) < target:
        sentences.append(_sentence(rng))
    if len(" ".join(sentences)) > 1500:
        sentences.pop()
    return " ".join(sentences)


def _article_text(rng: random.Random) -> str:
    return "\n\n".join(_paragraph(rng) for _ in range(rng.choice((1, 1, 1, 2, 2, 3))))


def _numbers(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    """CCH article numbers in code order (L111-1 … R*641-9 …) with their chapter's section."""
    for round_ in range(1_000):  # then L111-1-1, L111-1-2 …: inserted articles
        suffix = f"-{round_}" if round_ else ""
        for part in ("L", "R*", "R", "D"):
            for livre in range(1, 7):
                for titre in range(1, rng.randint(3, 9) + 1):
                    for chapitre in range(1, rng.randint(2, 8) + 1):
                        chapter = f"{livre}{titre}{chapitre}"
                        section_id = _section_id(CCH_CID, part, chapter, "section")
                        title = f"Section 1 : {rng.choice(OBJECTS).capitalize()}"
                        for article in range(1, rng.randint(2, 24) + 1):
                            yield f"{part}{chapter}-{article}{suffix}", section_id, title


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


def cch_sized_corpus(*, articles: int = 12_000, seed: int = 0) -> list[ArticleVersion]:
    """A deterministic code the size of the CCH: `articles` versions, ~20 % of numbers amended."""
    rng = random.Random(seed)
    corpus: list[ArticleVersion] = []
    # Near the 1978 codification's LEGIARTI ids, below the well-known ones (L441-1 is
    # LEGIARTI000006896262) so that a test may add those to a corpus.
    next_id = 6_830_000
    later_id = 18_000_000
    numbers = _numbers(rng)
    while len(corpus) < articles:
        num, section_id, section_title = next(numbers)
        count = rng.randint(2, 4) if rng.random() < 0.2 else 1
        count = min(count, articles - len(corpus))
        start = _day(rng, date(1978, 12, 31), date(2005, 1, 1))
        days = sorted({_day(rng, start + timedelta(days=1), date(2024, 12, 31))
                       for _ in range(count - 1)})
        starts = [start, *days]
        ends = [*(d.isoformat() for d in days), OPEN_END]
        text = _article_text(rng)
        for position, (begin, end) in enumerate(zip(starts, ends, strict=True)):
            if position == 0:
                legi_id, next_id = f"LEGIARTI{next_id:012d}", next_id + 1
            else:
                later_id += rng.randint(1, 5_000)
                legi_id = f"LEGIARTI{later_id:012d}"
                text = _amended(text, rng)
            corpus.append(ArticleVersion(
                id=legi_id, num=num, etat="VIGUEUR" if end == OPEN_END else "MODIFIE",
                date_debut=begin.isoformat(), date_fin=end, text=text,
                section_id=section_id, section_title=section_title))
    return corpus


def _amended(text: str, rng: random.Random) -> str:
    """The next version of an article's text: one sentence replaced, sometimes one added."""
    paragraphs = text.split("\n\n")
    index = rng.randrange(len(paragraphs))
    # A capital after the full stop, so that "article L. 441-2" is not cut.
    sentences = SENTENCE_END.split(paragraphs[index])
    sentences[rng.randrange(len(sentences))] = _sentence(rng)
    if rng.random() < 0.5:
        sentences.append(_sentence(rng))
    paragraphs[index] = " ".join(sentences)
    return "\n\n".join(paragraphs)


def daily_increment_for(corpus: Sequence[ArticleVersion], *, changed: int = 150,
                        repealed: int = 10, stamp: str, seed: int = 1) -> list[ArticleVersion]:
    """A day's LEGI increment for `corpus`: `changed` articles amended, `repealed` repealed.

    An amended article's current version is rewritten MODIFIE until the stamp's day and a
    new VIGUEUR version starts that day; a repealed one becomes ABROGE. Its older versions are
    published again too, as DILA does, since their VERSIONS list changed.
    """
    day = stamp_time(stamp).date().isoformat()
    rng = random.Random(seed)
    by_number: dict[tuple[str, str], list[ArticleVersion]] = defaultdict(list)
    for version in corpus:
        by_number[version.cid, version.num].append(version)
    current = [versions for versions in by_number.values()
               if any(v.etat == "VIGUEUR" and v.date_debut < day for v in versions)]
    if changed + repealed > len(current):
        raise ValueError(f"only {len(current)} articles in force, "
                         f"{changed + repealed} asked to change")
    picked = rng.sample(current, changed + repealed)
    next_id = max(int(v.id[8:]) for v in corpus)
    increment: list[ArticleVersion] = []
    for position, versions in enumerate(picked):
        alive = next(v for v in versions if v.etat == "VIGUEUR")
        increment.extend(v for v in versions if v is not alive)
        if position < changed:
            increment.append(dataclasses.replace(alive, etat="MODIFIE", date_fin=day))
            next_id += rng.randint(1, 50)
            increment.append(dataclasses.replace(
                alive, id=f"LEGIARTI{next_id:012d}", etat="VIGUEUR", date_debut=day,
                date_fin=OPEN_END, text=_amended(alive.text, rng)))
        else:
            increment.append(dataclasses.replace(alive, etat="ABROGE", date_fin=day))
    return increment
