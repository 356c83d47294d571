"""Every French text the bot shows (Telegram HTML: every dynamic value is escaped here)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from knowledge.retrieval.passages import suggestion_text
from knowledge.retrieval.search import Passage
from knowledge.store.models import TICKET_STATUS_LABELS, OutboxKind, TicketStatus
from knowledge.watch.links import ReferenceLink

# Put before the closest passage when a suggested answer is shown in full.
PASSAGE_MARK = "▶ "


def e(value: object) -> str:
    """Escape a value for Telegram HTML."""
    return html.escape(str(value), quote=False)


def excerpt(text: str, size: int) -> str:
    """Return the start of a text on one line, cut on a word with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= size:
        return flat
    cut = flat[:size].rsplit(" ", 1)[0] or flat[:size]
    return cut.rstrip(" ,;:.") + "…"


# --- commands ----------------------------------------------------------------------------------

COMMANDS = [
    ("start", "S'inscrire ou reprendre"),
    ("mesquestions", "Voir mes questions et leur état"),
    ("web", "Recevoir un lien de connexion au centre d'aide"),
    ("moi", "Mon profil (ajouter l'e-mail : /moi adresse)"),
    ("aide", "Comment utiliser ce service"),
    ("abonnement", "Recevoir ou non la lettre mensuelle du SVP"),
    ("mesdonnees", "Recevoir une copie de mes données"),
    ("supprimer", "Effacer mes données personnelles"),
    ("annuler", "Annuler l'inscription en cours"),
]

HELP = (
    "<b>SVP — questions réglementaires</b>\n\n"
    "Écrivez votre question dans cette conversation, en un seul message. Vous recevez aussitôt "
    "un numéro et, s'il en existe, des réponses déjà validées par le SVP. Un conseiller vous "
    "répond ici sinon.\n\n"
    "/mesquestions — vos questions et leur état\n"
    "/web — recevoir un lien pour vous connecter au centre d'aide du SVP sur le web (fiches, "
    "questions et réponses)\n"
    "/moi — votre profil ; <code>/moi adresse@organisme.fr</code> pour indiquer votre e-mail\n"
    "/abonnement — recevoir (ou ne plus recevoir) la lettre mensuelle « Les réponses du "
    "SVP »\n"
    "/mesdonnees — recevoir une copie de vos données (fichiers JSON et CSV)\n"
    "/supprimer — effacer vos données personnelles\n"
    "/aide — ce message\n\n"
    "Vous pouvez joindre un document (PDF, image, Word, Excel, PowerPoint, OpenDocument) : "
    "écrivez votre question dans sa légende. Envoyé sans légende juste après une question, il "
    "s'ajoute à celle-ci. Les messages vocaux et les vidéos ne sont pas traités : décrivez "
    "votre situation par écrit."
)

PRIVATE_ONLY = (
    "Ce bot ne répond qu'en conversation privée. Écrivez-lui directement pour poser une "
    "question au SVP."
)

# --- registration ------------------------------------------------------------------------------

RGPD_NOTICE = (
    "<b>Vos données</b> : le SVP conserve votre nom, votre organisme, votre e-mail "
    "professionnel, votre identifiant Telegram et vos questions, uniquement pour vous répondre "
    "et améliorer la base de réponses. Les conseillers du SVP y ont accès. Vous pouvez les "
    "consulter avec /moi, en recevoir une copie avec /mesdonnees et les effacer à tout moment "
    "avec /supprimer (vos questions sont alors conservées sans lien avec vous). Une question "
    "close depuis deux ans est détachée de votre nom."
)

REG_INTRO = (
    "Bonjour. Ce service permet au personnel des organismes adhérents de poser ses questions "
    "réglementaires au SVP.\n\nPour vous inscrire, quel est votre <b>nom complet</b> ?"
)
REG_ASK_ORGANISATION = "Merci. Choisissez votre <b>organisme</b> :"
REG_CHOOSE_WITH_BUTTONS = "Choisissez votre organisme avec les boutons ci-dessus."
REG_NO_ORGANISATION = (
    "Aucun organisme n'est encore ouvert à l'inscription. Veuillez contacter le SVP."
)
REG_ASK_EMAIL = "Quelle est votre <b>adresse e-mail professionnelle</b> ?"
REG_CONSENT = RGPD_NOTICE + "\n\nConfirmez-vous votre inscription ?"
REG_USE_BUTTONS = "Répondez avec les boutons ci-dessus, ou /annuler."
REG_DONE = (
    "Merci, votre inscription est enregistrée. Un conseiller du SVP va la valider ; vous "
    "recevrez un message ici dès que vous pourrez poser vos questions."
)
REG_CANCELLED = "Inscription annulée. Aucune donnée n'a été conservée."
REG_IN_PROGRESS = "Inscription en cours : répondez à la question ci-dessus, ou /annuler."
REG_TIMEOUT = "L'inscription a expiré. Envoyez /start pour recommencer."
REG_TEXT_ONLY = "Merci de répondre par un message texte."
NOTHING_TO_CANCEL = "Il n'y a rien à annuler."
INVALID_INVITE = (
    "Ce lien d'invitation n'est pas valide ou a été remplacé. Demandez un nouveau lien à "
    "votre organisme, ou envoyez /start pour une inscription classique."
)

NOT_REGISTERED = "Vous n'êtes pas encore inscrit. Envoyez /start pour vous inscrire."
PENDING = (
    "Votre inscription attend la validation d'un conseiller du SVP. Vous recevrez un message "
    "ici dès qu'elle sera validée."
)
BLOCKED = "Votre accès au SVP est suspendu. Pour toute question, contactez le SVP."
ALREADY_REGISTERED = "Vous êtes déjà inscrit : écrivez simplement votre question."


def invalid_value(reason: str) -> str:
    """Tell why a typed value was refused and ask again."""
    return f"{e(reason)} Veuillez réessayer."


def organisation_chosen(name: str) -> str:
    """Confirm the organisation picked from the keyboard."""
    return f"Organisme : <b>{e(name)}</b>"


def welcome_invite(organisation: str) -> str:
    """Welcome an asker registered through their organisation's invite link."""
    return (
        f"Bienvenue. Vous êtes inscrit pour <b>{e(organisation)}</b> et pouvez poser vos "
        "questions au SVP dès maintenant : écrivez-les simplement ici.\n\n"
        "Ajoutez votre e-mail professionnel avec <code>/moi adresse@organisme.fr</code>.\n\n"
        + RGPD_NOTICE
    )


# --- profile -----------------------------------------------------------------------------------

ERASE_CONFIRM = (
    "Voulez-vous vraiment effacer vos données personnelles (nom, e-mail, identifiant "
    "Telegram) ? Vos questions restent au SVP sans lien avec vous, et vous ne pourrez plus "
    "poser de question sans vous réinscrire."
)
ERASED = "Vos données personnelles ont été effacées. Merci d'avoir utilisé le SVP."
ERASE_KEPT = "Rien n'a été effacé."
NOTHING_TO_ERASE = "Aucune donnée personnelle n'est enregistrée pour vous."
EMAIL_SAVED = "Votre e-mail est enregistré."
MY_DATA_CAPTION = (
    "Voici une copie de toutes les données que le SVP conserve sur vous (JSON, puis le même "
    "contenu en CSV pour un tableur)."
)
MY_DATA_FAILED = (
    "Le fichier de vos données n'a pas pu être envoyé pour le moment. Réessayez /mesdonnees "
    "dans quelques minutes."
)


def profile(*, full_name: str | None, organisation: str | None, email: str | None,
            status: str) -> str:
    """Show an asker what is stored about them."""
    labels = {"pending": "en attente de validation", "approved": "validée",
              "blocked": "suspendue", "erased": "effacée"}
    return (
        "<b>Votre profil</b>\n"
        f"Nom : {e(full_name or '—')}\n"
        f"Organisme : {e(organisation or '—')}\n"
        f"E-mail : {e(email or 'non renseigné (/moi adresse@organisme.fr)')}\n"
        f"Inscription : {e(labels.get(status, status))}\n\n"
        + RGPD_NOTICE
    )


# --- help centre -------------------------------------------------------------------------------

WEB_UNAVAILABLE = (
    "Le centre d'aide du SVP n'est pas ouvert sur le web pour le moment : posez vos questions "
    "ici, dans cette conversation."
)


def web_link(url: str, minutes: int) -> str:
    """The one-time sign-in link to the help centre, and how to treat it."""
    return (
        "<b>Votre lien de connexion au centre d'aide du SVP</b>\n\n"
        f"{e(url)}\n\n"
        f"Il ne sert qu'une fois et n'est valable que {minutes} minutes. Ne le transférez à "
        "personne : il ouvre le centre d'aide à votre nom.\n\n"
        "Lien expiré ou déjà utilisé ? Envoyez de nouveau /web."
    )


# --- questions ---------------------------------------------------------------------------------

TOO_LONG = (
    "Votre message dépasse 4 000 caractères. Merci de raccourcir votre question (les détails "
    "pourront être demandés par le conseiller). Rien n'a été enregistré."
)
EMPTY = "Votre message est vide : écrivez votre question en texte."
UNSUPPORTED = (
    "Je ne peux traiter que du texte, des photos et des documents : messages vocaux, vidéos, "
    "autocollants ou positions ne sont pas lus. Décrivez votre question par écrit, en un "
    "message."
)
FILE_NEEDS_QUESTION = (
    "Pour poser une question avec ce document, envoyez-le de nouveau en écrivant votre "
    "question dans sa légende. Pour compléter une question en cours, répondez au message du "
    "SVP qui la concerne en y joignant le document. Rien n'a été enregistré."
)
FILE_DOWNLOAD_FAILED = "fichier impossible à récupérer auprès de Telegram : renvoyez-le"


def file_placeholder(filename: str) -> str:
    """The thread's text of a document sent without a caption (stored, hence not escaped)."""
    return f"Document joint : {filename}"


def files_refused(reasons: Sequence[str]) -> str:
    """The files that were not kept, and why (Telegram HTML)."""
    if not reasons:
        return ""
    head = ("Ce fichier n'a pas été retenu :" if len(reasons) == 1
            else "Ces fichiers n'ont pas été retenus :")
    return "\n".join([head, *(f"• {e(reason)}" for reason in reasons)])


def file_refused_alone(reasons: Sequence[str]) -> str:
    """A document refused with nothing else in its message: nothing was added."""
    return files_refused(reasons) + "\n\nRien n'a été ajouté à votre question."
EDITED = (
    "Les modifications de messages ne sont pas prises en compte. Si votre question a changé, "
    "envoyez-la de nouveau dans un nouveau message."
)
RATE_MINUTE = (
    "Vous avez envoyé beaucoup de questions en peu de temps. Merci de patienter une minute "
    "avant la suivante."
)
RATE_DAY = (
    "Vous avez atteint le nombre maximal de questions pour aujourd'hui. Vous pourrez en poser "
    "d'autres demain ; pour une urgence, contactez directement le SVP."
)
ERROR = "Désolé, une erreur est survenue. Veuillez réessayer dans un instant."
NO_TICKETS = "Vous n'avez encore posé aucune question."
BUTTON_EXPIRED = "Ce bouton n'est plus valable."
ACTION_IMPOSSIBLE = "Action impossible sur cette question."


def suggestion_excerpt(answer: str, passage: Passage | None) -> str:
    """What a suggestion shows of its answer: its closest passage (whole sentences, up to 350
    characters, « … » where cut), else its opening (280 characters)."""
    return suggestion_text(answer, passage)


def receipt(ticket_id: int, suggestions: Sequence[tuple[str, str]], *, files: int = 0,
            refused: Sequence[str] = ()) -> str:
    """Acknowledge a question, with the past answers that look close (question, excerpt)."""
    head = f"Votre question est enregistrée sous le <b>n° {ticket_id}</b>."
    if files:
        head += (" Le document joint est conservé avec elle." if files == 1
                 else f" Les {files} documents joints sont conservés avec elle.")
    if refused:
        head += "\n\n" + files_refused(refused)
    if not suggestions:
        return (head + "\n\nUn conseiller du SVP vous répondra ici. Suivez vos questions avec "
                "/mesquestions.")
    lines = [head, "", "Des réponses déjà validées par le SVP semblent proches :"]
    for number, (question, shown) in enumerate(suggestions, start=1):
        lines += ["", f"<b>{number}. {e(excerpt(question, 200))}</b>", e(shown)]
    lines += ["", "Si l'une d'elles répond à votre question, appuyez sur « Ma question est "
              "résolue » ; sinon, un conseiller vous répondra ici."]
    return "\n".join(lines)


def suggestion_button(number: int) -> str:
    """Label of the button showing a suggested answer in full."""
    return f"Voir la réponse {number}"


SOLVED_BUTTON = "Ma question est résolue"
SOLVED_WITH_BUTTON = "Cette réponse me suffit"
WAIT_BUTTON = "J'attends un conseiller"


def solved(ticket_id: int) -> str:
    """Confirm that a ticket is closed by an existing answer."""
    return f"Merci. Votre question n° {ticket_id} est close : une réponse existante vous a suffi."


def waiting(ticket_id: int) -> str:
    """Confirm that the asker waits for an adviser."""
    return f"Entendu : un conseiller du SVP répondra ici à votre question n° {ticket_id}."


def with_source(answer: str, source: str | None, passage: Passage | None = None,
                references: Sequence[ReferenceLink] = ()) -> str:
    """A suggested answer in full (plain text), its closest passage marked, its references
    (linked to Légifrance when recognised) and its source."""
    if passage is not None and not passage.from_question and 0 < passage.start < len(answer):
        answer = f"{answer[:passage.start]}{PASSAGE_MARK}{answer[passage.start:]}"
    blocks = [answer]
    if references:
        lines = [f"• {link.label} : {link.url}" if link.recognised else f"• {link.text}"
                 for link in references]
        blocks.append("Références :\n" + "\n".join(dict.fromkeys(lines)))
    if source:
        blocks.append(f"Source : {source}")
    return "\n\n".join(blocks)


def clarification_received(ticket_id: int, *, files: int = 0,
                           refused: Sequence[str] = ()) -> str:
    """Confirm that a reply (and its document) joined its ticket's thread."""
    if files:
        text = f"Merci, votre document est ajouté à la question n° {ticket_id}."
    else:
        text = f"Merci, votre précision est ajoutée à la question n° {ticket_id}."
    return text + ("\n\n" + files_refused(refused) if refused else "")


def ticket_list(tickets: Sequence[tuple[int, str, datetime, str]]) -> str:
    """The asker's tickets: number, status, date and the start of the question."""
    lines = ["<b>Vos questions</b>"]
    for ticket_id, status, created_at, text in tickets:
        label = TICKET_STATUS_LABELS.get(TicketStatus(status), status)
        lines.append(f"\n<b>n° {ticket_id}</b> — {created_at:%d/%m/%Y} — {e(label)}\n"
                     f"{e(excerpt(text, 120))}")
    return "\n".join(lines)


# --- feedback ----------------------------------------------------------------------------------

FEEDBACK_UP = "👍"
FEEDBACK_DOWN = "👎"
FEEDBACK_THANKS = "Merci pour votre avis."
FEEDBACK_ASK_COMMENT = (
    "Merci. Qu'est-ce qui manque ou ne convient pas ? Répondez à ce message (facultatif)."
)
FEEDBACK_COMMENT_PLACEHOLDER = "Votre commentaire"
FEEDBACK_COMMENT_SAVED = "Merci, votre commentaire est transmis au SVP."

# --- advisers ----------------------------------------------------------------------------------

ADVISER_USAGE = "Indiquez le code affiché dans l'administration : /conseiller CODE"


def adviser_linked(name: str) -> str:
    """Confirm that an adviser's account now gets notifications here."""
    return (f"Compte de {e(name)} relié : vous recevrez ici un message pour chaque nouvelle "
            "question.")


# --- outbox messages ---------------------------------------------------------------------------

SUBSCRIBED = (
    "Vous êtes abonné à la lettre mensuelle « Les réponses du SVP » : vous la recevrez ici "
    "chaque mois. Envoyez /abonnement pour vous désabonner."
)
UNSUBSCRIBED = (
    "Vous êtes désabonné de la lettre mensuelle. Envoyez /abonnement pour vous réabonner."
)


CLARIFICATION_FOOTER = "Répondez à ce message pour compléter votre question."
CLARIFICATION_PLACEHOLDER = "Votre précision"


def outbox_header(kind: str, ticket_id: int | None) -> str | None:
    """Plain-text header the delivery job puts above a message of this kind."""
    number = f" n° {ticket_id}" if ticket_id is not None else ""
    headers = {
        OutboxKind.ANSWER.value: f"Réponse du SVP à votre question{number} :",
        OutboxKind.CLARIFICATION.value: f"Le SVP a besoin d'une précision sur votre "
                                        f"question{number} :",
        OutboxKind.REJECTION.value: f"Votre question{number} n'a pas pu être traitée :",
        OutboxKind.CORRECTION.value: f"Correction de la réponse à votre question{number} :",
        OutboxKind.FOLLOW_UP.value: f"Complément du SVP à votre question{number} :",
        OutboxKind.NOTIFICATION.value: f"Nouvelle question{number}",
    }
    return headers.get(kind)


def outbox_footer(kind: str) -> str | None:
    """Plain-text footer the delivery job puts below a message of this kind."""
    if kind == OutboxKind.CLARIFICATION.value:
        return CLARIFICATION_FOOTER
    return None
