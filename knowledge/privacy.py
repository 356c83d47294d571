"""Personal data in texts about to be published: find it, and replace it by placeholders.

Staff describe real households in their questions ("Mme B., 4 enfants, n° allocataire
1234567"): before an answer becomes an entry, is imported or goes into the digest, its text
is scanned here. The detector favours recall on the precise kinds (e-mail, phone, IBAN, NIR,
allocataire number) and precision on names and addresses, where regulation texts are full
of capitalised words (articles, streets named after people, "M. le maire"). Measured on
tests/data/privacy-labelled.jsonl (docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum.fr import nir as stdnum_nir

from knowledge.errors import Conflict

EMAIL = "email"
PHONE = "phone"
IBAN = "iban"
NIR = "nir"
ALLOCATAIRE = "allocataire"
ADDRESS = "address"
PERSON = "person"

KINDS = (EMAIL, PHONE, IBAN, NIR, ALLOCATAIRE, ADDRESS, PERSON)
KIND_LABELS = {
    EMAIL: "adresse électronique",
    PHONE: "numéro de téléphone",
    IBAN: "IBAN",
    NIR: "numéro de sécurité sociale",
    ALLOCATAIRE: "numéro d'allocataire",
    ADDRESS: "adresse postale",
    PERSON: "nom de personne",
}
PLACEHOLDERS = {
    EMAIL: "[courriel]",
    PHONE: "[téléphone]",
    IBAN: "[IBAN]",
    NIR: "[n° de sécurité sociale]",
    ALLOCATAIRE: "[n° allocataire]",
    ADDRESS: "[adresse]",
    PERSON: "[locataire]",
}
# When two findings overlap, the more specific kind wins (an e-mail holds a name, an IBAN
# holds digits a phone pattern could take).
_PRIORITY = {kind: rank for rank, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Finding:
    """A piece of personal data found in a text: its kind, where it is, what replaces it."""

    kind: str
    start: int
    end: int
    text: str
    placeholder: str

    @property
    def label(self) -> str:
        """The kind in French, for people."""
        return KIND_LABELS[self.kind]


class PersonalDataFound(Conflict):
    """Publication refused until the adviser replaces the personal data or confirms it."""

    def __init__(self, findings: Sequence[Finding], *, where: str = "Le texte") -> None:
        self.findings = list(findings)
        kinds = ", ".join(f"{KIND_LABELS[kind]} ({count})"
                          for kind, count in sorted(counts(self.findings).items()))
        super().__init__(
            f"{where} contient des données personnelles probables : {kinds}. Remplacez-les "
            "ou confirmez la publication en cochant la case prévue.")


# --- patterns -------------------------------------------------------------------------------

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_UPPER = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ"
_LOWER = "a-zàâäçéèêëîïôöùûüÿœæ"
_WORD = rf"[{_UPPER}][{_LOWER}]+(?:[-'’][{_UPPER}][{_LOWER}]+)*"
_INITIAL = rf"[{_UPPER}]\."

# "[at]" and "(at)" are how people hide an address from robots, not from readers.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+(?:@|\s?[\[(]at[\])]\s?)[\w-]+(?:\.[\w-]+)*"
                    r"\.[A-Za-z]{2,}\b", re.IGNORECASE)
_ROLE_WORDS = (r"(?:contact|info|accueil|service|secretariat|direction|courrier|support|"
               r"noreply|no-reply|ne-pas-repondre|svp|mediat|juridique|communication|"
               r"webmaster|admin|rgpd|dpo|presse|agence|gestion|compta)")
_PERSONAL_MAILBOXES = frozenset((
    "gmail.com", "googlemail.com", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "neuf.fr",
    "laposte.net", "hotmail.fr", "hotmail.com", "live.fr", "outlook.fr", "outlook.com",
    "yahoo.fr", "yahoo.com", "icloud.com", "me.com", "aol.com", "bbox.fr", "numericable.fr",
    "proton.me", "protonmail.com", "gmx.fr", "club-internet.fr", "aliceadsl.fr"))
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_NIR = re.compile(r"(?<![\d])[12][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2[AB])[ .]?\d{3}[ .]?"
                  r"\d{3}(?:[ .]?\d{2})?(?![\d])")
_NIR_CONTEXT = re.compile(r"(?:s[ée]curit[ée] sociale|\bNIR\b|\bINSEE\b|\bn° SS\b|"
                          r"\bsécu\b)", re.IGNORECASE)
_ALLOCATAIRE = re.compile(
    r"(?:allocataire|\bCAF\b|\bMSA\b|matricule)[^\d\n]{0,25}?(?<![\w.])"
    r"(\d(?:[ ]?\d){5,12}[A-Z]?)(?![\d])(?![ ]?(?:€|euros?\b|%))", re.IGNORECASE)
_STREET_TYPES = (r"rue|avenue|av\.|bd|boulevard|bld|chemin|ch\.|impasse|imp\.|allée|allées|"
                 r"place|cours|quai|route|rte|square|lotissement|passage|traverse|montée|"
                 r"cité|voie|rond-point|résidence|hameau|faubourg|esplanade|parvis|promenade|"
                 r"sentier|villa|mail|domaine")
_STREET_NAME = (rf"(?:(?:de la|de l'|de l’|du|des|de|d'|d’|la|le|les|l'|l’)[ \t]?)?"
                rf"(?:[{_UPPER}0-9][\w'’-]*)(?:[ \t]+(?:(?:de la|de l'|de l’|du|des|de|d'|d’|la|"
                rf"le|les|l'|l’|et|sur|en)[ \t]?)?[{_UPPER}0-9][\w'’-]*){{0,5}}")
_ADDRESS = re.compile(
    rf"(?<![\w,.])\d{{1,4}}(?:[ \t]?(?:bis|ter|quater|[ABab])\b)?,?[ \t]+(?i:{_STREET_TYPES})[ \t]+"
    rf"{_STREET_NAME}"
    rf"(?:,?[ \t]+(?:(?:bât(?:iment)?\.?|appt?\.?|appartement|escalier|esc\.)[ \t]*\w+,?[ \t]+)*"
    rf"\d{{5}}[ \t]+[{_UPPER}][\w'’-]*(?:[ \t]+(?:[{_UPPER}][\w'’-]*|\d{{1,2}}(?:e|er)?))*)?",
    re.UNICODE)
_DWELLING = re.compile(
    rf"\b(?i:résidence|cité|immeuble|tour)[ \t]+{_STREET_NAME}"
    rf"(?:,?[ \t]+(?:bât(?:iment)?\.?|appt?\.?|appartement|escalier|esc\.|porte|logement)"
    rf"[ \t]*(?:n°[ \t]*)?[A-Z0-9]{{1,4}}\b)+")
_STREET_BEFORE = re.compile(rf"(?:\b(?:{_STREET_TYPES}|lycée|collège|école|quartier|"
                            r"stade|gare|centre|hôpital|parc|pont|port|saint|sainte|"
                            r"st|ste|fondation|association|prix|loi|décret|circulaire)"
                            r"(?:[ \t]+(?:de la|de l'|du|des|de|d'|la|le|les|l'))?[ \t]*)$",
                            re.IGNORECASE)
_TITLES = (r"M\.|MM\.|Mr\.?|Mme|Mmes|Mlle|Mlles|Monsieur|Madame|Mademoiselle|Messieurs|"
           r"Mesdames|Me|Maître|Dr|Docteur|Pr|Professeur")
_PARTICLE = r"(?:de|du|des|d'|d’|le|la|van|von|ben|ould|ait|aït|el|al|da|dos|di)"
_NAME_PART = rf"(?:{_WORD}|[{_UPPER}]{{2,}}(?:-[{_UPPER}]{{2,}})*|{_INITIAL})"
_TITLED = re.compile(
    rf"\b(?:{_TITLES})(?:[ \t]+et[ \t]+(?:{_TITLES}))?[ \t]+"
    rf"((?:{_PARTICLE}[ \t]+)?{_NAME_PART}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_NAME_PART}){{0,3}})")
# Words that follow a title without naming anyone ("M. le Maire", "Madame la Préfète"),
# or that a capitalised sequence after a name may wrongly take along.
_NOT_A_NAME = _words(
    "le la les l maire préfet préfète président présidente directeur directrice juge "
    "ministre député députée sénateur sénatrice gérant gérante trésorier trésorière "
    "secrétaire bailleur locataire propriétaire syndic notaire huissier commissaire "
    "avocat avocate adjoint adjointe conseiller conseillère responsable chef "
    "caf msa cpam hlm opac oph esh sem apl als alf rsa aah dalo daho ccapex fsl "
    "cil cal caleol anah adil tfpb sru npnru anru ccas cnaf qpv "
    "marié mariée mariés pacsé pacsée pacsés")
# The words after a first name are looked at, not consumed: "Nobel Albert Camus" must still
# try "Albert".
_FIRST_NAME_RUN = re.compile(
    rf"(?<![\w'’-])({_WORD})(?=((?:[ \t]+(?:{_PARTICLE}[ \t]+)?"
    rf"(?:[{_UPPER}]{{2,}}(?:-[{_UPPER}]{{2,}})*|{_WORD}|{_INITIAL}(?!\w))){{0,2}}))")
# Lower-case text ("la locataire mme khelifi"): only the unambiguous titles count.
_TITLED_LOWER = re.compile(rf"\b(?:mme|mlle|madame|monsieur|mademoiselle)[ \t]+"
                           rf"([{_LOWER}]{{2,}}(?:-[{_LOWER}]{{2,}})?)\b")
# A household or a person named by a word of their situation ("la famille Benaïssa").
_HOUSEHOLD = re.compile(rf"\b(?:famille|couple|époux|épouse|veuve|veuf|consorts|ménage|"
                        rf"juge|gardien|gardienne)[ \t]+((?:{_PARTICLE}[ \t]+)?{_NAME_PART}"
                        rf"(?:[ -](?:{_PARTICLE}[ \t]+)?{_NAME_PART})?)")
# First names that are also common French words, places or saints when capitalised: they
# count only with a surname or an initial after them.
_AMBIGUOUS_FIRST_NAMES = _words(
    "pierre rose france marine olive claire aurore prudence constance clémence patience "
    "florence lorraine victoire gloria angèle blanche martin vincent paris lyon nancy "
    "marseille nice valence loire seine garonne julien laurent denis charles louis "
    "paul jean marie germain étienne georges benoît léon maurice sans grâce océane "
    "violette capucine jade perle dolores mercedes pascal noël noëlle toussaint "
    "dominique sylvain mai juin avril août aude ariège landes"
    " gironde savoie vendée")
_SENTENCE_WORDS = _words(
    "il elle ils elles le la les un une des du de en au aux ce cet cette ces son sa ses "
    "leur leurs mon ma mes madame monsieur pour par sur dans avec sans selon depuis "
    "quand si lorsque comme mais donc or ni car et ou est sont a ont vous nous je on "
    "bien en cas pas plus très tout tous toute toutes aucun aucune "
    "quel quelle quels quelles qui que quoi dont où bonjour merci cordialement")


@functools.cache
def first_names() -> frozenset[str]:
    """Common French first names (lower case), from knowledge/data/prenoms-fr.txt."""
    path = Path(__file__).resolve().parent / "data" / "prenoms-fr.txt"
    words = (line.split("#", 1)[0].strip().casefold()
             for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(word for word in words if word)


# --- detectors ------------------------------------------------------------------------------

def _finding(kind: str, start: int, end: int, text: str) -> Finding:
    return Finding(kind=kind, start=start, end=end, text=text[start:end],
                   placeholder=PLACEHOLDERS[kind])


def _is_role_address(address: str) -> bool:
    # "contact@adil13.org" names a service, not a person; on a personal mailbox provider the
    # same words may be anyone's ("contact.famille.roche@laposte.net").
    local, _, domain = address.casefold().rpartition("@")
    return (domain not in _PERSONAL_MAILBOXES
            and re.match(_ROLE_WORDS, local) is not None)


def _emails(text: str) -> Iterable[Finding]:
    for match in _EMAIL.finditer(text):
        if "@" in match.group() and _is_role_address(match.group()):
            continue
        yield _finding(EMAIL, match.start(), match.end(), text)


# Free, shared-cost and premium numbers (08..., 3xxx) reach services, never a household.
_SERVICE_NUMBERS = {phonenumbers.PhoneNumberType.TOLL_FREE,
                    phonenumbers.PhoneNumberType.SHARED_COST,
                    phonenumbers.PhoneNumberType.PREMIUM_RATE,
                    phonenumbers.PhoneNumberType.UAN}


def _phones(text: str) -> Iterable[Finding]:
    for match in phonenumbers.PhoneNumberMatcher(text, "FR",
                                                 leniency=phonenumbers.Leniency.VALID):
        if phonenumbers.number_type(match.number) in _SERVICE_NUMBERS:
            continue
        yield _finding(PHONE, match.start, match.end, text)


def _ibans(text: str) -> Iterable[Finding]:
    for match in _IBAN.finditer(text):
        if stdnum_iban.is_valid(match.group()):
            yield _finding(IBAN, match.start(), match.end(), text)


def _nirs(text: str) -> Iterable[Finding]:
    for match in _NIR.finditer(text):
        digits = re.sub(r"[ .]", "", match.group())
        if len(digits) == 15 and stdnum_nir.is_valid(digits):
            yield _finding(NIR, match.start(), match.end(), text)
        elif len(digits) in (13, 15) and _NIR_CONTEXT.search(
                text[max(match.start() - 40, 0):match.start()]):
            # A wrong key or no key: still a social security number when announced as one.
            yield _finding(NIR, match.start(), match.end(), text)


def _allocataires(text: str) -> Iterable[Finding]:
    for match in _ALLOCATAIRE.finditer(text):
        yield _finding(ALLOCATAIRE, match.start(1), match.end(1), text)


def _addresses(text: str) -> Iterable[Finding]:
    for pattern in (_ADDRESS, _DWELLING):
        for match in pattern.finditer(text):
            yield _finding(ADDRESS, match.start(), match.end(), text)


def _is_name_word(word: str) -> bool:
    return word.casefold().strip(".") not in _NOT_A_NAME


def _titled_names(text: str) -> Iterable[Finding]:
    for match in _TITLED.finditer(text):
        words = match.group(1).split()
        # Keep the name up to the first word that is a function or an acronym.
        kept: list[str] = []
        for index, word in enumerate(words):
            # "M. Le Goff" is a name, "M. le Maire" and "Madame la Préfète" are not.
            particle = (index == 0 and word in ("Le", "La") and len(words) > 1
                        and _is_name_word(words[1]))
            if not particle and not _is_name_word(word):
                break
            kept.append(word)
        while kept and re.fullmatch(_PARTICLE, kept[-1], re.IGNORECASE):
            kept.pop()
        if not kept:
            continue
        end = match.start(1)
        for word in kept:
            end = text.index(word, end) + len(word)
        yield _finding(PERSON, match.start(), end, text)


def _lower_titled_names(text: str) -> Iterable[Finding]:
    for match in _TITLED_LOWER.finditer(text):
        word = match.group(1)
        if _is_name_word(word) and word not in _SENTENCE_WORDS:
            yield _finding(PERSON, match.start(), match.end(), text)


def _households(text: str) -> Iterable[Finding]:
    for match in _HOUSEHOLD.finditer(text):
        words = match.group(1).split()
        if all(_is_name_word(word) and word.casefold() not in _SENTENCE_WORDS
               for word in words):
            yield _finding(PERSON, match.start(1), match.end(1), text)


def _first_name_runs(text: str) -> Iterable[Finding]:
    names = first_names()
    blocked_until = 0
    for match in _FIRST_NAME_RUN.finditer(text):
        if match.start() < blocked_until:
            continue  # the rest of a street or school name ("Hugo" of "rue Victor Hugo")
        first = match.group(1)
        parts = re.split(r"[-'’]", first.casefold())
        if not all(part in names for part in parts):
            continue
        if _STREET_BEFORE.search(text[max(match.start() - 40, 0):match.start()]):
            blocked_until = match.end(2)
            continue  # "rue Victor Hugo", "lycée Marie Curie", "Saint Pierre"
        rest = [word for word in match.group(2).split() if _is_name_word(word)
                and word.casefold() not in _SENTENCE_WORDS]
        tail = rest[:1]
        if tail and (tail[0].casefold() in names and tail[0].casefold()
                     in _AMBIGUOUS_FIRST_NAMES):
            tail = []
        if not tail and first.casefold() in _AMBIGUOUS_FIRST_NAMES:
            continue
        end = match.end(1)
        if tail:
            end = text.index(tail[0], end) + len(tail[0])
        yield _finding(PERSON, match.start(), end, text)


_DETECTORS = (_emails, _ibans, _nirs, _allocataires, _phones, _addresses, _titled_names,
              _lower_titled_names, _households, _first_name_runs)


def scan(text: str) -> list[Finding]:
    """Find the personal data of a text, in reading order, without overlaps."""
    if not text:
        return []
    found = [finding for detector in _DETECTORS for finding in detector(text)]
    # Specific kinds first, then the longest: the first claim of a range keeps it.
    found.sort(key=lambda f: (_PRIORITY[f.kind], -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for finding in found:
        if all(finding.end <= other.start or finding.start >= other.end for other in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)


def scan_fields(fields: dict[str, str]) -> dict[str, list[Finding]]:
    """Scan several named texts; only the fields with findings are returned."""
    results = {name: scan(value or "") for name, value in fields.items()}
    return {name: findings for name, findings in results.items() if findings}


def surroundings(text: str, finding: Finding, width: int = 40) -> tuple[str, str]:
    """The words before and after a finding, to show it highlighted in its context."""
    before = text[max(finding.start - width, 0):finding.start]
    after = text[finding.end:finding.end + width]
    # Whole words only: a cut word reads like another finding.
    if finding.start > width and " " in before:
        before = "…" + before[before.index(" ") + 1:]
    if finding.end + width < len(text) and " " in after:
        after = after[:after.rindex(" ")] + "…"
    return before, after


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """How many findings of each kind: what an audit line may say (never the data itself)."""
    return dict(Counter(finding.kind for finding in findings))


def replace(text: str, findings: Iterable[Finding] | None = None) -> str:
    """Replace findings (all those of `scan` by default) by their placeholders."""
    chosen = scan(text) if findings is None else list(findings)
    result = text
    for finding in sorted(chosen, key=lambda f: f.start, reverse=True):
        if result[finding.start:finding.end] != finding.text:
            continue  # a finding of another version of the text: leave the text alone
        result = result[:finding.start] + finding.placeholder + result[finding.end:]
    return result


# --- measure --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expected:
    """A labelled span of a sample: the kind and the text a perfect detector would find."""

    kind: str
    text: str


@dataclass
class Score:
    """Counts of one kind (or of all): found right, found wrongly, missed, exact bounds."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    exact: int = 0

    @property
    def precision(self) -> float:
        """Share of the findings that are labelled personal data (1.0 when nothing found)."""
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        """Share of the labelled personal data that was found (1.0 when none labelled)."""
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else 1.0


@dataclass(frozen=True)
class Miss:
    """A detector mistake on a sample, for the table of errors."""

    text: str
    kind: str
    span: str
    false_positive: bool


def evaluate(samples: Iterable[tuple[str, Sequence[Expected]]]) -> tuple[
        dict[str, Score], list[Miss]]:
    """Score `scan` on labelled samples, per kind and overall (key "all").

    A finding counts when it overlaps a labelled span of the same kind; `exact` counts those
    whose bounds are the labelled ones.
    """
    scores = {kind: Score() for kind in (*KINDS, "all")}
    misses: list[Miss] = []
    for text, expected in samples:
        spans: list[tuple[Expected, int, int]] = []
        cursor: dict[str, int] = {}
        for item in expected:
            start = text.index(item.text, cursor.get(item.text, 0))
            cursor[item.text] = start + 1
            spans.append((item, start, start + len(item.text)))
        matched: set[int] = set()
        for finding in scan(text):
            hit = next((index for index, (item, start, end) in enumerate(spans)
                        if index not in matched and item.kind == finding.kind
                        and finding.start < end and start < finding.end), None)
            for key in (finding.kind, "all"):
                if hit is None:
                    scores[key].false_positives += 1
                else:
                    scores[key].true_positives += 1
                    scores[key].exact += (finding.start, finding.end) == spans[hit][1:]
            if hit is None:
                misses.append(Miss(text, finding.kind, finding.text, True))
            else:
                matched.add(hit)
        for index, (item, _start, _end) in enumerate(spans):
            if index not in matched:
                scores[item.kind].false_negatives += 1
                scores["all"].false_negatives += 1
                misses.append(Miss(text, item.kind, item.text, False))
    return scores, misses
