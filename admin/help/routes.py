"""The help centre's pages: sign-in by link, search, themes, entries and feedback."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from admin.config import AdminConfig, SendMail
from admin.downloads import download
from admin.help import mailer
from admin.help.security import (
    MemberSignInRequired,
    MemberVisitor,
    OptionalMember,
    Reader,
    SignedIn,
    clear_member_cookie,
    member_token,
    pre_sign_in_token,
    set_member_cookie,
    set_pre_sign_in_cookie,
)
from admin.pages import filesize, light_markup, local_time
from admin.security import ConfigDep, DbSession, KnowledgeDep, client_ip, end_read
from knowledge import privacy
from knowledge.catalog import reading
from knowledge.desk import attachments, help_counts, mail_actions, reaching, tickets
from knowledge.desk.help_counts import HelpEvent
from knowledge.desk.tables import readable_tables
from knowledge.errors import InvalidInput, NotFound
from knowledge.people import members
from knowledge.people.throttle import TooManyAttempts
from knowledge.retrieval import passages
from knowledge.runtime import Knowledge, SearchHit
from knowledge.store.member_models import MemberSession
from knowledge.store.models import Asker, MessageAuthor, Ticket, TicketStatus
from knowledge.text import clean
from knowledge.timeutil import utcnow
from knowledge.watch.links import reference_links

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/aide")
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
MAX_QUERY_CHARS = 500
RESULTS = 10
SUGGESTIONS = 5
RELATED = 4
# As you type, the text is unfinished and misspelt: titles are offered a little below the
# bot's threshold (the search itself keeps the bot's threshold).
SUGGEST_MARGIN = 0.05
FEEDBACK_SALT = "svp-aide-avis"
DEAD_LINK = ("Ce lien de connexion n'est plus valable : il a déjà servi ou a expiré (il vaut "
             "15 minutes). Demandez-en un nouveau.")
# « Mis à jour depuis » filter of the search: label and days.
SINCE = {"": ("toutes les dates", None), "3m": ("moins de 3 mois", 92),
         "1a": ("moins d'un an", 366), "2a": ("moins de 2 ans", 731)}
NOTICES = {
    "signed_out": "Vous êtes déconnecté du centre d'aide.",
    "feedback": "Merci : votre avis est transmis aux conseillers du SVP.",
    "asked": "Votre question est envoyée au SVP : la réponse d'un conseiller s'affichera ici, "
             "et vous en serez prévenu.",
    "replied": "Votre message est ajouté à la question.",
    "reopened": "Votre question de suivi est envoyée : la question est rouverte auprès du SVP.",
    "notify": "C'est noté : vous serez prévenu des réponses comme vous l'avez choisi.",
}


def make_help_templates() -> Jinja2Templates:
    """The help centre's own Jinja2 environment (autoescaping on)."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["local_time"] = local_time
    templates.env.filters["light_markup"] = light_markup
    # A page shows no table: the flattened ones read as one line per row, as in Telegram.
    templates.env.filters["answer_html"] = lambda value: light_markup(readable_tables(value or ""))
    templates.env.filters["local_date"] = lambda value: local_time(value)[:10] if value else ""
    templates.env.filters["filesize"] = filesize
    return templates


def page(request: Request, name: str, context: dict[str, Any] | None = None,
         status_code: int = 200) -> HTMLResponse:
    """Render a help-centre page with the member, their token and any notice."""
    member = getattr(request.state, "member", None)
    full = {"member": member, "csrf_token": member.csrf_token if member else "",
            "notice": NOTICES.get(request.query_params.get("info") or ""),
            "query": "", **(context or {})}
    templates: Jinja2Templates = request.app.state.help_templates
    return templates.TemplateResponse(request, name, full, status_code=status_code)


def _query(text: str | None) -> str:
    return clean(text or "")[:MAX_QUERY_CHARS]


def _search(knowledge: Knowledge, text: str, k: int, *, passages_wanted: bool = True,
            margin: float = 0.0) -> list[SearchHit]:
    # The bot's engine and threshold: what a member finds is what the bot would suggest.
    return knowledge.similar(text, k=k, passages=passages_wanted,
                             min_score=knowledge.abstain_threshold - margin).hits


def _count(db: Session, member: MemberVisitor | None, kind: HelpEvent) -> None:
    """Count one help-centre event for the reader's organisation (0: not signed in)."""
    try:
        # Its own savepoint: a failed counter undoes nothing else the request did.
        with db.begin_nested():
            help_counts.record(session=db, kind=kind,
                               organisation_id=member.organisation_id if member else None)
    except Exception:  # a counter is never worth a page: the page is served, the log says why
        logger.exception("help centre: %s not counted", kind)


# --- sign-in ---------------------------------------------------------------------------------


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a help-centre path only (never another site)."""
    target = (value or "").strip()
    if (not target.startswith("/aide") or target.startswith("//") or "\\" in target
            or any(ord(char) < 32 for char in target) or len(target) > 500):
        return "/aide"
    return target


def _sign_in_page(request: Request, config: AdminConfig, *, email: str = "",
                  error: str | None = None, status_code: int = 200,
                  next_path: str | None = None) -> HTMLResponse:
    token = pre_sign_in_token(request, config)
    response = page(request, "help_sign_in.html", {
        "pre_csrf": token, "email": email, "error": error,
        "mail_ready": config.help.send_mail is not None,
        "next": safe_next(next_path or request.query_params.get("next"))},
        status_code=status_code)
    set_pre_sign_in_cookie(response, token, config)
    return response


@router.get("/connexion", response_class=HTMLResponse)
def sign_in_form(request: Request, config: ConfigDep, member: OptionalMember) -> Response:
    """Ask for a sign-in link by email."""
    if member is not None:
        return RedirectResponse("/aide", status_code=303)
    return _sign_in_page(request, config)


def _send_link(send_mail: SendMail, email: str, url: str) -> None:
    try:
        send_mail(email, "Votre lien de connexion au centre d'aide du SVP",
                  mailer.sign_in_text(url=url, minutes=members.LINK_MINUTES))
    except Exception:  # the visitor saw the same page either way; the operator sees this
        logger.exception("sign-in link could not be sent")


@router.post("/connexion", response_class=HTMLResponse)
def request_link(request: Request, db: DbSession, config: ConfigDep, member: OptionalMember,
                 background: BackgroundTasks,
                 email: Annotated[str, Form(max_length=400)] = "",
                 next_path: Annotated[str, Form(alias="next", max_length=600)] = "") -> Response:
    """Send a one-time link to a member's address; the page says the same for any address."""
    if config.help.send_mail is None:
        return _sign_in_page(request, config, email=email, status_code=503,
                             error="L'envoi de liens de connexion n'est pas configuré sur ce "
                                   "serveur : contactez le SVP.")
    try:
        issued = members.request_link(session=db, email=email, ip=client_ip(request))
    except TooManyAttempts as error:
        db.rollback()
        return _sign_in_page(request, config, email=email, error=str(error), status_code=429,
                             next_path=next_path)
    except InvalidInput as error:
        db.rollback()
        return _sign_in_page(request, config, email=email, error=str(error), status_code=422,
                             next_path=next_path)
    if issued is not None:
        # The configured address, never the request's Host: a forged one would send the
        # member's link to another site.
        url = f"{config.base_url.rstrip('/')}/aide/lien/{quote(issued.token, safe='')}"
        target = safe_next(next_path)
        if target != "/aide":
            url += f"?suite={quote(target, safe='/')}"
        # After the commit (the route returns first): the link exists when the mail arrives.
        background.add_task(_send_link, config.help.send_mail, issued.email, url)
    return page(request, "help_link_sent.html", {"email": members.normalise_email(email),
                                                 "minutes": members.LINK_MINUTES})


@router.get("/lien/{token}", response_class=HTMLResponse)
def link_page(request: Request, token: str, db: DbSession, config: ConfigDep) -> Response:
    """A link opened from the mail: one button signs in (a mail scanner's visit uses nothing)."""
    if not members.link_is_live(session=db, token=token):
        return _sign_in_page(request, config, status_code=410, error=DEAD_LINK,
                             next_path=request.query_params.get("suite"))
    pre = pre_sign_in_token(request, config)
    response = page(request, "help_link.html", {
        "token": token[:200], "pre_csrf": pre,
        "next": safe_next(request.query_params.get("suite"))})
    set_pre_sign_in_cookie(response, pre, config)
    return response


@router.post("/lien", response_class=HTMLResponse)
def redeem_link(request: Request, db: DbSession, config: ConfigDep, member: OptionalMember,
                token: Annotated[str, Form(max_length=400)] = "",
                next_path: Annotated[str, Form(alias="next", max_length=600)] = "") -> Response:
    """Open the member's session with the link, once."""
    try:
        session_token, _row = members.redeem(session=db, token=token, ip=client_ip(request))
    except InvalidInput as error:
        db.rollback()
        return _sign_in_page(request, config, error=str(error), status_code=410)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_member_cookie(response, session_token, config)
    return response


MAIL_ACTION_WORDS = {
    mail_actions.SELF_SERVED: ("Cette réponse me suffit",
                               "Le SVP clôt votre question : une réponse existante y répond."),
    mail_actions.WAIT: ("J'attends un conseiller",
                        "Un conseiller du SVP vous répondra par courriel."),
}


@router.get("/courriel/{token}", response_class=HTMLResponse)
def mail_action_page(request: Request, token: str, db: DbSession, config: ConfigDep
                     ) -> Response:
    """A one-click link of an email receipt: its button acts (a mail scanner's visit does not)."""
    pending = mail_actions.peek(session=db, token=token)
    if pending is None:
        return page(request, "help_mail_action.html", {"dead": mail_actions.DEAD},
                    status_code=410)
    pre = pre_sign_in_token(request, config)
    label, effect = MAIL_ACTION_WORDS[pending.action]
    response = page(request, "help_mail_action.html", {
        "token": token[:200], "pre_csrf": pre, "label": label, "effect": effect,
        "ticket_id": pending.ticket_id})
    set_pre_sign_in_cookie(response, pre, config)
    return response


@router.post("/courriel", response_class=HTMLResponse)
def mail_action(request: Request, db: DbSession, member: OptionalMember,
                token: Annotated[str, Form(max_length=400)] = "") -> Response:
    """Do what a one-click link of an email receipt says, once (the page's CSRF token checked
    by the member dependency, as for the sign-in link)."""
    del member
    try:
        ticket = mail_actions.use(session=db, token=token)
    except InvalidInput as error:
        db.rollback()
        return page(request, "help_mail_action.html", {"dead": str(error)}, status_code=410)
    return page(request, "help_mail_action.html", {
        "done": STATUS_WORDS.get(ticket.status, ticket.status), "ticket_id": ticket.id})


@router.post("/deconnexion")
def sign_out(request: Request, db: DbSession, config: ConfigDep, member: SignedIn) -> Response:
    """End the member's session."""
    members.sign_out(session=db, token=member_token(request, config))
    response = RedirectResponse("/aide/connexion?info=signed_out", status_code=303)
    clear_member_cookie(response, config)
    return response


# --- reading ---------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def home(request: Request, db: DbSession, member: Reader) -> HTMLResponse:
    """Search box, themes with their counts, newest and most asked entries."""
    _count(db, member, HelpEvent.VISIT)
    return page(request, "help_home.html", {
        "themes": reading.theme_counts(session=db),
        "newest": reading.newest(session=db),
        "most_asked": reading.most_asked(session=db),
    })


@router.get("/recherche", response_class=HTMLResponse)
def search_page(request: Request, db: DbSession, knowledge: KnowledgeDep, member: Reader,
                q: Annotated[str, Query(max_length=2000)] = "",
                theme: Annotated[str, Query(max_length=200)] = "",
                since: Annotated[str, Query(alias="depuis", max_length=4)] = "") -> HTMLResponse:
    """The entries that answer a query, each with the passage that does."""
    query = _query(q)
    themes_listed = reading.theme_counts(session=db)
    end_read(db)
    # One search, a little below the bot's threshold: what clears the threshold is the
    # answer (the bot's hits exactly); with nothing there, the nearest ones, said less sure.
    ranked = _search(knowledge, query, RESULTS, margin=SUGGEST_MARGIN) if query else []
    hits = [hit for hit in ranked if hit.score >= knowledge.abstain_threshold]
    near = [] if hits else ranked[:SUGGESTIONS]
    if theme:
        hits = [hit for hit in hits if (hit.theme or "") == theme]
    days = SINCE.get(since, SINCE[""])[1]
    if days is not None and hits:
        changed = reading.updated_at(session=db, entry_ids=[hit.entry_id for hit in hits])
        cutoff = utcnow() - timedelta(days=days)
        hits = [hit for hit in hits if changed.get(hit.entry_id, cutoff) >= cutoff]
    # After the search (on SQLite a write holds the lock): a search is judged by what it shows.
    _count(db, member, HelpEvent.VISIT)
    if query:
        _count(db, member, HelpEvent.SEARCH_HIT if hits else HelpEvent.SEARCH_MISS)
    return page(request, "help_search.html", {
        "query": query, "hits": hits, "near": near, "themes": themes_listed, "theme": theme,
        "since": since if since in SINCE else "", "since_options": SINCE,
        "shown": passages.shown_texts([*hits, *near]),
    })


@router.get("/suggestions")
def suggestions(request: Request, knowledge: KnowledgeDep, member: Reader,
                q: Annotated[str, Query(max_length=2000)] = "") -> JSONResponse:
    """As-you-type suggestions: the titles of the entries the search would show first."""
    query = _query(q)
    if len(query) < 3:
        return JSONResponse({"query": query, "suggestions": []})
    hits = _search(knowledge, query, SUGGESTIONS, passages_wanted=False,
                   margin=SUGGEST_MARGIN)
    return JSONResponse({"query": query, "suggestions": [
        {"id": hit.entry_id, "question": hit.question, "theme": hit.theme,
         "url": f"/aide/fiches/{hit.entry_id}"} for hit in hits]})


@router.get("/themes/{name}", response_class=HTMLResponse)
def theme_page(request: Request, name: str, db: DbSession, member: Reader) -> HTMLResponse:
    """The active entries of one theme."""
    entries = reading.in_theme(session=db, theme=name[:200])
    if entries:  # an unknown theme is no page read
        _count(db, member, HelpEvent.VISIT)
    return page(request, "help_theme.html", {"theme": name[:200], "entries": entries},
                status_code=200 if entries else 404)


@router.get("/fiches/{entry_id}", response_class=HTMLResponse)
def entry_page(request: Request, entry_id: int, db: DbSession, knowledge: KnowledgeDep,
               member: Reader) -> HTMLResponse:
    """One active entry: answer, last check, references, source, related entries, feedback."""
    entry = reading.active_entry(session=db, entry_id=entry_id)
    question = entry.question
    opinion = (reading.feedback_of(session=db, entry_id=entry.id,
                                   key=reading.member_key(member.label, salt=FEEDBACK_SALT))
               if member is not None else None)
    context = {"entry": entry, "opinion": opinion,
               "checked_at": entry.reviewed_at or entry.updated_at,
               "references": reference_links(session=db, items=entry.legal_references or [],
                                             names=knowledge.legal_names,
                                             today=utcnow().date())}
    end_read(db)
    related = [hit for hit in _search(knowledge, question, RELATED + 1, passages_wanted=False)
               if hit.entry_id != entry_id][:RELATED]
    _count(db, member, HelpEvent.VISIT)  # after the search: no lock held while it runs
    return page(request, "help_entry.html", {**context, "related": related})


@router.post("/fiches/{entry_id}/avis")
def entry_feedback(entry_id: int, db: DbSession, member: SignedIn,
                   value: Annotated[str, Form(max_length=4)] = "") -> Response:
    """Record the member's « utile / pas utile » on an entry."""
    key = reading.member_key(member.label, salt=FEEDBACK_SALT)
    before = reading.feedback_of(session=db, entry_id=entry_id, key=key)
    reading.give_feedback(session=db, entry_id=entry_id, key=key,
                          organisation_id=member.organisation_id,
                          value={"1": 1, "-1": -1}.get(value, 0),
                          actor=f"member:{member.label}")
    # The web's « cette réponse me suffit »: a 👍 given, not the same 👍 clicked again.
    if value == "1" and before != 1:
        _count(db, member, HelpEvent.SELF_SERVED)
    return RedirectResponse(f"/aide/fiches/{entry_id}?info=feedback#avis", status_code=303)


# --- asking and following ------------------------------------------------------------------

# What a member reads of a thread: their messages and the advisers' (never internal notes).
THREAD_KINDS = {"question", "clarification", "answer", "rejection", "follow_up", "correction",
                tickets.REOPENED}
STATUS_WORDS = {
    TicketStatus.NEW.value: "en attente d'un conseiller",
    TicketStatus.IN_REVIEW.value: "en cours d'examen",
    TicketStatus.WAITING_ASKER.value: "précision demandée : à vous de répondre",
    TicketStatus.ANSWERED.value: "répondue",
    TicketStatus.SELF_SERVED.value: "résolue par une réponse existante",
    TicketStatus.REJECTED.value: "hors du champ du SVP",
}
LIMIT_WORDS = {"minute": "Vous avez posé beaucoup de questions en une minute : patientez un "
                         "instant avant d'en envoyer une autre.",
               "day": "Vous avez atteint le nombre de questions du jour : le SVP les reçoit "
                      "à nouveau demain."}


def _member_row(db: DbSession, member: MemberVisitor) -> MemberSession:
    # The session the request's dependency resolved: read again in this unit of work only.
    row = db.get(MemberSession, member.session_id)
    if row is None:
        raise MemberSignInRequired()
    return row


def _own_ticket(db: DbSession, member: MemberVisitor, ticket_id: int) -> Ticket:
    ticket = db.get(Ticket, ticket_id)
    # Another member's question, or no question at all: the same answer.
    if ticket is None or member.asker_id is None or ticket.asker_id != member.asker_id:
        raise NotFound("ticket", ticket_id)
    return ticket


def _ask_page(request: Request, knowledge: Knowledge, *, text: str, confirm_data: bool = False,
              error: str | None = None, status_code: int = 200,
              with_suggestions: bool = False) -> HTMLResponse:
    hits = _search(knowledge, text, SUGGESTIONS) if with_suggestions and text else []
    return page(request, "help_ask.html", {
        "text": text, "hits": hits, "error": error, "asked_for_suggestions": with_suggestions,
        "findings": privacy.scan(text) if text else [], "confirm_data": confirm_data,
        "shown": passages.shown_texts(hits),
        "max_chars": tickets.MAX_QUESTION_CHARS}, status_code=status_code)


@router.get("/questions", response_class=HTMLResponse)
def my_questions(request: Request, db: DbSession, member: SignedIn) -> HTMLResponse:
    """The member's questions, newest first, with where each stands and how answers reach them."""
    asked = (tickets.list_for_asker(session=db, asker_id=member.asker_id, limit=200)
             if member.asker_id is not None else [])
    _count(db, member, HelpEvent.VISIT)
    asker = db.get(Asker, member.asker_id) if member.asker_id is not None else None
    return page(request, "help_questions.html", {
        "tickets": asked, "status_words": STATUS_WORDS, "asker": asker,
        # A choice only for whom both ways exist: an address and a Telegram chat.
        "can_choose": asker is not None and bool(asker.email)
        and reaching.chat_of(asker) is not None,
        "notify": reaching.web_notify(asker).value if asker is not None else "email"})


@router.post("/preferences")
def set_notify(db: DbSession, member: SignedIn,
               notify: Annotated[str, Form(max_length=16)] = "") -> Response:
    """How the answers to the member's web questions reach them: email or Telegram."""
    if member.asker_id is None:
        raise InvalidInput("Posez d'abord une question : ce choix concerne ses réponses.")
    reaching.set_web_notify(session=db, asker_id=member.asker_id, choice=notify)
    return RedirectResponse("/aide/questions?info=notify", status_code=303)


@router.get("/questions/nouvelle", response_class=HTMLResponse)
def ask_form(request: Request, db: DbSession, knowledge: KnowledgeDep, member: SignedIn,
             text: Annotated[str, Query(alias="texte", max_length=20_000)] = "") -> HTMLResponse:
    """The question form, prefilled from a search that found nothing."""
    _count(db, member, HelpEvent.VISIT)
    return _ask_page(request, knowledge, text=clean(text)[:tickets.MAX_QUESTION_CHARS])


@router.post("/questions")
def ask(request: Request, db: DbSession, knowledge: KnowledgeDep, config: ConfigDep,
        member: SignedIn, text: Annotated[str, Form(max_length=20_000)] = "",
        confirm_data: Annotated[str, Form(max_length=2)] = "",
        look: Annotated[str, Form(alias="voir", max_length=2)] = "") -> Response:
    """Send a question to the SVP's queue, as a Telegram question goes (or look first)."""
    question = clean(text)
    confirmed = confirm_data == "1"
    if look == "1":  # « Voir d'abord les réponses proches »: nothing is sent
        end_read(db)
        return _ask_page(request, knowledge, text=question[:tickets.MAX_QUESTION_CHARS],
                         confirm_data=confirmed, with_suggestions=True)
    try:
        tickets.validate_question(question)
    except InvalidInput as error:  # empty or too long: said before anything is counted
        return _ask_page(request, knowledge, text=question[:tickets.MAX_QUESTION_CHARS],
                         confirm_data=confirmed, error=str(error), status_code=422)
    if privacy.scan(question) and not confirmed:
        return _ask_page(request, knowledge, text=question, status_code=422,
                         error="Votre question semble contenir des données personnelles : "
                               "retirez-les, ou cochez la case pour l'envoyer telle quelle.")
    row = _member_row(db, member)
    try:
        asker_id = members.ensure_asker(session=db, member_session=row)
        limit = tickets.limit_reached(session=db, asker_id=asker_id,
                                      per_minute=config.help.questions_per_minute,
                                      per_day=config.help.questions_per_day)
        if limit is not None:
            db.rollback()
            return _ask_page(request, knowledge, text=question, confirm_data=confirmed,
                             error=LIMIT_WORDS[limit], status_code=429)
        ticket = tickets.submit(session=db, asker_id=asker_id, text=question,
                                admin_base_url=config.base_url, channel=reaching.WEB_CHANNEL)
    except InvalidInput as error:
        db.rollback()
        return _ask_page(request, knowledge, text=question, confirm_data=confirmed,
                         error=str(error), status_code=422)
    ticket_id = ticket.id
    _count(db, member, HelpEvent.QUESTION)  # in the question's transaction: counted if stored
    db.commit()  # stored before the search: a failed search never loses the question
    hits = _search(knowledge, question, SUGGESTIONS, passages_wanted=False)
    tickets.record_suggestions(session=db, ticket_id=ticket_id,
                               entry_ids=[hit.entry_id for hit in hits],
                               top_score=hits[0].score if hits else None)
    return RedirectResponse(f"/aide/questions/{ticket_id}?info=asked", status_code=303)


@router.get("/questions/{ticket_id}", response_class=HTMLResponse)
def question_page(request: Request, ticket_id: int, db: DbSession, member: SignedIn
                  ) -> HTMLResponse:
    """One of the member's questions: the thread as they may read it, and a reply box."""
    ticket = _own_ticket(db, member, ticket_id)
    thread = [message for message in ticket.messages if message.kind in THREAD_KINDS
              and message.author in (MessageAuthor.ASKER.value, MessageAuthor.ADVISER.value)]
    suggested = reading.active_entries(session=db, entry_ids=ticket.suggested_entry_ids or [])
    _count(db, member, HelpEvent.VISIT)
    files = attachments.for_ticket(session=db, ticket_id=ticket.id)
    return page(request, "help_ticket.html", {
        "files_of": {message_id: [f for f in files if f.ticket_message_id == message_id]
                     for message_id in {f.ticket_message_id for f in files}},
        "ticket": ticket, "thread": thread, "status_words": STATUS_WORDS,
        "suggested": suggested, "can_reply": tickets.is_open(ticket),
        "can_reopen": tickets.may_reopen(ticket), "reopen_days": tickets.REOPEN_DAYS})


@router.get("/questions/{ticket_id}/fichiers/{file_id}")
def question_file(ticket_id: int, file_id: int, db: DbSession, member: SignedIn) -> Response:
    """Download a file of one of the member's questions (theirs, or the adviser's)."""
    ticket = _own_ticket(db, member, ticket_id)
    return download(attachments.get(session=db, attachment_id=file_id, ticket_id=ticket.id,
                                    with_data=True))


@router.post("/questions/{ticket_id}/reponse")
def reply(request: Request, ticket_id: int, db: DbSession, member: SignedIn,
          text: Annotated[str, Form(max_length=20_000)] = "") -> Response:
    """The member's reply: a precision on an open question, a follow-up on a recent answer."""
    ticket = _own_ticket(db, member, ticket_id)
    if member.asker_id is None:
        raise InvalidInput("Cette question est close : posez une nouvelle question.")
    if tickets.may_reopen(ticket):
        tickets.reopen_with_follow_up(session=db, ticket_id=ticket.id, asker_id=member.asker_id,
                                      text=text)
        return RedirectResponse(f"/aide/questions/{ticket_id}?info=reopened#fil",
                                status_code=303)
    if not tickets.is_open(ticket):
        raise InvalidInput("Cette question est close : posez une nouvelle question.")
    tickets.add_asker_message(session=db, ticket_id=ticket.id, asker_id=member.asker_id,
                              text=text)
    return RedirectResponse(f"/aide/questions/{ticket_id}?info=replied#fil", status_code=303)
