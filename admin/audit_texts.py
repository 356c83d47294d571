"""The audit log in French: who (a person's name), what (one sentence), details (labelled).

The log stores codes (`user:camille`, `ticket.approve`, `{"status": "answered"}`) for machines
and exports; this module is the one place that turns them into what an administrator reads,
on the audit page and in its CSV/XLSX export. Every action the code records has a sentence
here (a test reads the sources to make sure); an unknown one still reads as French.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from knowledge.privacy import KIND_LABELS
from knowledge.store.models import (
    ORGANISATION_KIND_LABELS,
    TICKET_STATUS_LABELS,
    AuditEvent,
)


@dataclass(frozen=True)
class Action:
    """How an action reads: a short label (filter list) and a sentence after the actor's name.

    In the sentence, `{n}` is the object's number and `{compte}` names an account ("de Camille"
    or "n° 3").
    """

    label: str
    sentence: str


ACTIONS: dict[str, Action] = {
    # Questions
    "ticket.submit": Action("Question posée", "a posé la question n° {n}"),
    "ticket.assign": Action("Question prise en charge", "s'est attribué la question n° {n}"),
    "ticket.clarify": Action("Demande de précision",
                             "a demandé une précision sur la question n° {n}"),
    "ticket.draft": Action("Brouillon enregistré",
                           "a enregistré un brouillon de réponse à la question n° {n}"),
    "ticket.approve": Action("Réponse validée et envoyée",
                             "a validé et envoyé la réponse à la question n° {n}"),
    "ticket.reject": Action("Question rejetée", "a rejeté la question n° {n} (hors champ)"),
    "ticket.self_served": Action("Question résolue par une réponse existante",
                                 "a indiqué qu'une réponse existante répond à la question "
                                 "n° {n}"),
    "ticket.feedback": Action("Avis sur une réponse",
                              "a donné son avis sur la réponse à la question n° {n}"),
    "ticket.note": Action("Note interne", "a ajouté une note interne à la question n° {n}"),
    "ticket.follow_up": Action("Complément envoyé",
                               "a envoyé un complément sur la question n° {n}"),
    "ticket.correction": Action("Correction de réponse envoyée",
                                "a envoyé une correction de la réponse à la question n° {n}"),
    "ticket.release": Action("Question rendue à la file", "a rendu la question n° {n} à la file"),
    "ticket.hand_over": Action("Question confiée à un collègue",
                               "a confié la question n° {n} à un collègue"),
    # Knowledge base
    "entry.create": Action("Fiche créée", "a créé la fiche n° {n}"),
    "entry.update": Action("Fiche modifiée", "a modifié la fiche n° {n}"),
    "entry.retire": Action("Fiche retirée", "a retiré la fiche n° {n} des suggestions"),
    "entry.reinstate": Action("Fiche rétablie", "a rétabli la fiche n° {n}"),
    "entry.verify": Action("Fiche vérifiée", "a vérifié la fiche n° {n} (toujours juste)"),
    "entry.legal_flag": Action("Fiche signalée par la veille",
                               "a signalé la fiche n° {n} : un texte qu'elle cite a changé"),
    "entry.legal_still_right": Action(
        "Fiche juste avec le nouveau texte",
        "a vérifié la fiche n° {n} avec le texte modifié (toujours juste)"),
    "watch.import": Action("Archive LEGI importée",
                           "a importé l'archive LEGI n° {n} (veille réglementaire)"),
    "entry.correction": Action("Fiche corrigée, demandeurs prévenus",
                               "a corrigé la fiche n° {n} et prévenu les demandeurs concernés"),
    "phrasing.add": Action("Formulation ajoutée", "a ajouté une formulation à la fiche n° {n}"),
    "phrasing.remove": Action("Formulation retirée",
                              "a retiré une formulation de la fiche n° {n}"),
    "kb.review_reminder": Action("Rappel des fiches à vérifier",
                                 "a envoyé le rappel des fiches à vérifier"),
    "theme.add": Action("Thème ajouté", "a ajouté le thème n° {n}"),
    "theme.rename": Action("Thème renommé", "a renommé le thème n° {n}"),
    "theme.merge": Action("Thèmes fusionnés", "a fusionné un thème dans le thème n° {n}"),
    "glossary.create": Action("Terme ajouté au glossaire",
                              "a ajouté le terme n° {n} au glossaire"),
    "glossary.update": Action("Terme du glossaire modifié",
                              "a modifié le terme n° {n} du glossaire"),
    "glossary.delete": Action("Terme du glossaire supprimé",
                              "a supprimé le terme n° {n} du glossaire"),
    "glossary.import": Action("Glossaire importé", "a importé des termes dans le glossaire"),
    "template.create": Action("Modèle de réponse créé", "a créé le modèle de réponse n° {n}"),
    "template.update": Action("Modèle de réponse modifié",
                              "a modifié le modèle de réponse n° {n}"),
    "template.delete": Action("Modèle de réponse supprimé",
                              "a supprimé le modèle de réponse n° {n}"),
    "digest.broadcast": Action("Lettre d'information envoyée",
                               "a envoyé la lettre d'information de {n}"),
    # Askers and organisations
    "asker.register": Action("Inscription d'un demandeur",
                             "a demandé son inscription (demandeur n° {n})"),
    "asker.register_invite": Action("Inscription par lien d'invitation",
                                    "s'est inscrit avec un lien d'invitation (demandeur n° {n})"),
    "asker.approve": Action("Inscription validée",
                            "a validé l'inscription du demandeur n° {n}"),
    "asker.block": Action("Demandeur bloqué", "a bloqué le demandeur n° {n}"),
    "asker.email": Action("Adresse électronique enregistrée",
                          "a enregistré son adresse électronique (demandeur n° {n})"),
    "asker.digest_subscription": Action("Abonnement à la lettre modifié",
                                        "a modifié son abonnement à la lettre d'information "
                                        "(demandeur n° {n})"),
    "asker.export": Action("Données d'un demandeur téléchargées",
                           "a téléchargé les données personnelles du demandeur n° {n}"),
    "asker.erase": Action("Données d'un demandeur effacées",
                          "a effacé les données personnelles du demandeur n° {n}"),
    "organisation.create": Action("Organisme créé", "a créé l'organisme n° {n}"),
    "organisation.update": Action("Organisme modifié", "a modifié l'organisme n° {n}"),
    "organisation.domains": Action("Domaines de messagerie modifiés",
                                   "a modifié les domaines de messagerie de l'organisme "
                                   "n° {n}"),
    "entry.feedback": Action("Avis sur une fiche (centre d'aide)",
                             "a donné son avis sur la fiche n° {n}"),
    "asker.web": Action("Demandeur du centre d'aide",
                        "est devenu le demandeur n° {n} en posant sa première question dans "
                        "le centre d'aide"),
    "asker.web_notify": Action("Avertissement des réponses choisi",
                               "a choisi comment être prévenu des réponses du centre d'aide "
                               "(demandeur n° {n})"),
    "ticket.reopen": Action("Question rouverte par le demandeur",
                            "a rouvert la question n° {n} par une question de suivi"),
    "user.email_alerts": Action("Alertes par courriel choisies",
                                "a choisi les alertes par courriel du compte {compte}"),
    "member.sign_in": Action("Connexion au centre d'aide",
                             "s'est connecté au centre d'aide (organisme n° {n})"),
    "organisation.invite": Action("Code d'invitation créé",
                                  "a créé un code d'invitation pour l'organisme n° {n}"),
    # Accounts and security
    "user.create": Action("Compte créé", "a créé le compte {compte}"),
    "user.password": Action("Mot de passe changé", "a changé le mot de passe du compte {compte}"),
    "user.disable": Action("Compte désactivé", "a désactivé le compte {compte}"),
    "user.enable": Action("Compte réactivé", "a réactivé le compte {compte}"),
    "user.sessions_closed": Action("Sessions fermées",
                                   "a fermé toutes les sessions du compte {compte}"),
    "user.second_factor_on": Action("Double authentification activée",
                                    "a activé la double authentification du compte {compte}"),
    "user.second_factor_off": Action("Double authentification retirée",
                                     "a retiré la double authentification du compte {compte}"),
    "user.recovery_codes": Action("Codes de secours générés",
                                  "a généré de nouveaux codes de secours pour le compte "
                                  "{compte}"),
    "user.recovery_code_used": Action("Connexion avec un code de secours",
                                      "s'est connecté avec un code de secours"),
    "user.telegram_code": Action("Code de liaison Telegram demandé",
                                 "a demandé un code pour relier son compte à Telegram"),
    "user.telegram_link": Action("Compte relié à Telegram", "a relié son compte à Telegram"),
    "user.telegram_unlink": Action("Compte délié de Telegram", "a délié son compte de Telegram"),
    "user.export": Action("Données d'un compte téléchargées",
                          "a téléchargé les données personnelles du compte {compte}"),
    "user.erase": Action("Données d'un compte effacées",
                         "a effacé les données personnelles du compte {compte}"),
    "secrets.reseal": Action("Secrets rechiffrés",
                             "a rechiffré les secrets de double authentification avec une "
                             "nouvelle clé"),
    "api_token.create": Action("Jeton d'API créé", "a créé le jeton d'API n° {n}"),
    "api_token.revoke": Action("Jeton d'API révoqué", "a révoqué le jeton d'API n° {n}"),
    "api.call": Action("Appel de l'API", "a appelé l'API avec le jeton n° {n}"),
    # Personal data
    "privacy.confirm": Action("Publication de données personnelles confirmée",
                              "a confirmé que des données personnelles peuvent être publiées "
                              "({objet})"),
    "privacy.purge": Action("Purge des données anciennes",
                            "a effacé les données arrivées en fin de durée de conservation"),
}

# The same code, said by an asker rather than an adviser.
ASKER_SENTENCES = {
    "ticket.clarify": "a apporté la précision demandée sur sa question n° {n}",
    "ticket.self_served": "a indiqué qu'une réponse existante répond à sa question n° {n}",
}

# The filter list, by the first part of the code (`ticket.approve` → "ticket").
GROUPS: dict[str, str] = {
    "ticket": "Questions",
    "entry": "Fiches",
    "phrasing": "Formulations des fiches",
    "kb": "Vérification des fiches",
    "theme": "Thèmes",
    "glossary": "Glossaire",
    "template": "Modèles de réponse",
    "digest": "Lettre d'information",
    "asker": "Demandeurs",
    "organisation": "Organismes",
    "user": "Comptes",
    "secrets": "Sécurité",
    "api_token": "Jetons d'API",
    "api": "Appels de l'API",
    "privacy": "Données personnelles",
    "member": "Centre d'aide",
    "watch": "Veille réglementaire",
}

OBJECT_TYPES: dict[str, str] = {
    "ticket": "Question",
    "entry": "Fiche",
    "asker": "Demandeur",
    "organisation": "Organisme",
    "user": "Compte",
    "theme": "Thème",
    "glossary_term": "Terme du glossaire",
    "reply_template": "Modèle de réponse",
    "api_token": "Jeton d'API",
    "digest": "Lettre d'information",
    "review_reminder": "Rappel de vérification",
    "legal_import": "Import LEGI",
    "import": "Import de fiches",
    "privacy": "Données personnelles",
}

# Actors that are not people: the command line, the site's own jobs, the bot...
ACTORS: dict[str, str] = {
    "cli": "Ligne de commande",
    "web": "Système (site d'administration)",
    "bot": "Système (bot Telegram)",
    "api": "API",
    "system": "Système",
    "veille": "Veille réglementaire",
    "demo": "Données de démonstration",
    "import": "Import",
    "bench": "Banc d'essai",
    "test": "Test",
}

_FIELDS: dict[str, str] = {
    "status": "Statut",
    "assigned_to_id": "Conseiller chargé",
    "theme": "Thème",
    "entry_id": "Fiche",
    "feedback": "Avis",
    "revision": "Version",
    "review_by": "À vérifier avant le",
    "organisation_id": "Organisme",
    "channel": "Canal",
    "choice": "Choix",
    "alerts": "Alertes",
    "digest_subscribed": "Abonné à la lettre",
    "name": "Nom",
    "kind": "Type d'organisme",
    "departement": "Département",
    "active": "Actif",
    "login": "Identifiant",
    "display_name": "Nom affiché",
    "role": "Rôle",
    "from": "De",
    "to": "Vers",
    "entries": "Fiches",
    "personal_data": "Données personnelles",
    "rows": "Lignes concernées",
    "reason": "Motif",
    "until": "Prochaine vérification",
    "previous": "Vérification prévue auparavant",
    "phrasing_id": "Formulation",
    "source": "Origine",
    "ticket_id": "Question",
    "text": "Texte",
    "term": "Terme",
    "created": "Créés",
    "updated": "Mis à jour",
    "publication": "Publication",
    "value": "Avis",
    "title": "Titre",
    "retired": "Fiche retirée",
    "refused": "Envoi refusé",  # a refused answer kept as the draft
    "domains": "Domaines de messagerie",
    "ip": "Adresse IP",
    "count": "Nombre",
    "user": "Compte",
    "scope": "Portée",
    "expires_days": "Validité (jours)",
    "method": "Méthode",
    "path": "Chemin",
    "sessions_revoked": "Sessions fermées",
    "key_id": "Clé",
    "queued": "Messages mis en file",
    "already_sent": "Déjà envoyés",
    "format": "Format",
    "counts": "Éléments traités",
    "redacted": "Données effacées",
    "reference": "Référence",
    "references": "Références",
    "archive": "Archive",
    "new_versions": "Nouvelles versions",
    "flags_raised": "Fiches signalées",
}

# A key whose meaning depends on the action.
_ACTION_FIELDS: dict[tuple[str, str], str] = {
    ("api.call", "status"): "Code de réponse HTTP",
    ("ticket.hand_over", "to"): "Confiée à",
    ("theme.rename", "from"): "Ancien nom",
    ("theme.rename", "to"): "Nouveau nom",
    ("theme.merge", "from"): "Thème fusionné",
    ("theme.merge", "entries"): "Fiches déplacées",
    ("digest.broadcast", "entries"): "Fiches de la lettre",
    ("entry.correction", "count"): "Demandeurs prévenus",
    ("entry.correction", "revision"): "Version envoyée",
    ("secrets.reseal", "count"): "Secrets rechiffrés",
    ("api_token.create", "name"): "Nom du jeton",
    ("api_token.revoke", "name"): "Nom du jeton",
    ("template.delete", "title"): "Titre du modèle",
}

_STATUSES: dict[str, dict[str, str]] = {
    "ticket": {status.value: label.lower() for status, label in TICKET_STATUS_LABELS.items()},
    "entry": {"active": "active", "retired": "retirée"},
    "asker": {"pending": "en attente de validation", "approved": "validé",
              "blocked": "bloqué", "erased": "données effacées"},
}
_VALUES: dict[str, dict[str, str]] = {
    "role": {"adviser": "conseiller", "admin": "administrateur"},
    "scope": {"read": "lecture seule", "write": "lecture et écriture"},
    "publication": {"new": "nouvelle fiche", "update": "mise à jour d'une fiche",
                    "none": "sans publication"},
    "feedback": {"up": "utile 👍", "down": "pas utile 👎"},
    "value": {"up": "utile 👍", "down": "pas utile 👎"},
    "kind": {kind.value: label for kind, label in ORGANISATION_KIND_LABELS.items()},
    "source": {"manual": "saisie à la main", "ticket": "question d'un demandeur"},
    "format": {"json": "JSON", "csv": "CSV", "xlsx": "XLSX", "zip": "ZIP"},
}
# Parts of a count (erasure, purge, personal data found): what was counted.
_COUNTED: dict[str, str] = {
    **KIND_LABELS,
    "tickets": "questions",
    "messages": "messages",
    "outbox": "messages à envoyer",
    "inbox": "messages reçus",
    "entries": "fiches",
    "conversation": "conversations du bot",
    "actors": "mentions de l'auteur",
    "audit": "événements du journal",
    "sessions": "sessions",
    "login_attempts": "tentatives de connexion",
    "login_throttles": "blocages de connexion",
    "member_access": "liens et sessions du centre d'aide",
    "api_tokens": "jetons d'API",
}
_NUMBERED = {"entry_id": "fiche", "ticket_id": "question", "organisation_id": "organisme",
             "phrasing_id": "formulation"}
_DATES = {"review_by", "until", "previous"}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class Accounts:
    """The web accounts' display names, by login and by number (to name actors and objects)."""

    by_login: Mapping[str, str]
    by_id: Mapping[int, str]


@dataclass(frozen=True)
class Actor:
    """Who acted, as shown: a name, and the stored code (login, `cli`...) for a tooltip."""

    name: str
    code: str


@dataclass(frozen=True)
class Detail:
    """One labelled detail of an event."""

    label: str
    value: str


@dataclass(frozen=True)
class Line:
    """An audit event as an administrator reads it."""

    event: AuditEvent
    actor: Actor
    action: str  # short label of the action
    sentence: str
    object: str  # "Question n° 7", "Compte de Camille"...
    details: tuple[Detail, ...]


def actor(code: str, accounts: Accounts) -> Actor:
    """The name of an actor: an account's display name, an asker's number, a French label."""
    kind, _, rest = code.partition(":")
    if kind == "user" and rest:
        return Actor(accounts.by_login.get(rest, rest), rest)
    if code in accounts.by_login:  # a few services record the bare login
        return Actor(accounts.by_login[code], code)
    if kind == "asker" and rest:
        return Actor(f"Demandeur n° {rest}", code)
    if kind == "member" and rest.startswith("asker-") and rest[6:].isdigit():
        return Actor(f"Demandeur n° {rest[6:]} (centre d'aide)", code)
    if kind == "telegram" and rest:
        return Actor(f"Utilisateur Telegram n° {rest}", code)
    if kind.startswith("import"):
        return Actor(ACTORS["import"], code)
    return Actor(ACTORS.get(code, code), code)


def action_label(code: str) -> str:
    """The short French label of an action code (filter list, export)."""
    known = ACTIONS.get(code)
    return known.label if known else f"Action « {code} »"


def _account(object_id: str | None, accounts: Accounts) -> str:
    if object_id and object_id.isdigit() and int(object_id) in accounts.by_id:
        return f"de {accounts.by_id[int(object_id)]}"
    return f"n° {object_id or '?'}"


def object_label(object_type: str, object_id: str | None, accounts: Accounts) -> str:
    """The object of an event, in French: "Question n° 7", "Compte de Camille"."""
    name = OBJECT_TYPES.get(object_type, _readable(object_type))
    if object_type == "user" and object_id:
        return f"{name} {_account(object_id, accounts)}"
    return f"{name} n° {object_id}" if object_id else name


def sentence(event: AuditEvent, accounts: Accounts) -> str:
    """What the actor did, as a sentence to read after their name."""
    known = ACTIONS.get(event.action)
    template = known.sentence if known else "a effectué l'action « {code} » ({objet})"
    if event.actor.startswith("asker:"):
        template = ASKER_SENTENCES.get(event.action, template)
    return template.format(
        n=event.object_id or "?", compte=_account(event.object_id, accounts),
        objet=object_label(event.object_type, event.object_id, accounts).lower(),
        code=event.action)


def _readable(key: str) -> str:
    """A readable fallback for a key nobody translated: `expires_days` → "Expires days"."""
    return key.replace("_", " ").replace(".", " ").strip().capitalize() or key


def has_label(key: str, action: str = "") -> bool:
    """Whether a detail's key has a French label (else it reads as the key, tidied)."""
    return (action, key) in _ACTION_FIELDS or key in _FIELDS


def field_label(key: str, action: str = "") -> str:
    """The French label of a detail's key."""
    return _ACTION_FIELDS.get((action, key)) or _FIELDS.get(key) or _readable(key)


def _date(value: str) -> str:
    match = _ISO_DATE.match(value)
    if not match:
        return value
    year, month, day = match.groups()
    return f"{day}/{month}/{year}"


def value_text(key: str, value: Any, *, object_type: str = "", action: str = "",
               accounts: Accounts | None = None) -> str:
    """A detail's value in French: enums translated, numbers named, never raw JSON."""
    if key == "expires_days" and not value:
        return "sans expiration"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, Mapping):
        parts = [f"{_COUNTED.get(str(name), _readable(str(name)).lower())} : "
                 f"{value_text(str(name), item, action=action, accounts=accounts)}"
                 for name, item in value.items()]
        return ", ".join(parts) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(value_text(key, item, object_type=object_type, action=action,
                                    accounts=accounts) for item in value) or "aucune"
    if key == "status" and isinstance(value, str):
        return _STATUSES.get(object_type, {}).get(value, value)
    if key in _VALUES and isinstance(value, str):
        return _VALUES[key].get(value, value)
    if key == "assigned_to_id" and accounts is not None and isinstance(value, int):
        return accounts.by_id.get(value, f"compte n° {value}")
    if key in ("user", "login") or (action == "ticket.hand_over" and key == "to"):
        return accounts.by_login.get(str(value), str(value)) if accounts else str(value)
    if key in _NUMBERED:
        return f"n° {value}"
    if key in _DATES and isinstance(value, str):
        return _date(value)
    return str(value)


def details(event: AuditEvent, accounts: Accounts | None = None) -> tuple[Detail, ...]:
    """The details of an event as labelled French fields (before → after for changes)."""
    data: Mapping[str, Any] = event.details or {}
    found: list[Detail] = []
    raw_before, raw_after = data.get("before"), data.get("after")
    before: Mapping[str, Any] = raw_before if isinstance(raw_before, Mapping) else {}
    after: Mapping[str, Any] = raw_after if isinstance(raw_after, Mapping) else {}

    def text(key: str, value: Any) -> str:
        return value_text(key, value, object_type=event.object_type, action=event.action,
                          accounts=accounts)

    changed = dict.fromkeys([*before, *after])
    for key in changed:
        found.append(Detail(field_label(key, event.action),
                            f"{text(key, before.get(key))} → {text(key, after.get(key))}"))
    for key, value in data.items():
        if key in ("before", "after") and isinstance(value, Mapping):
            continue
        if key in changed and after.get(key) == value:
            continue  # the change above already ends on this value: one line, not two
        if key == "redacted":
            found.append(Detail(_FIELDS["redacted"], "oui (effacement ou fin de conservation)"))
            continue
        found.append(Detail(field_label(key, event.action), text(key, value)))
    return tuple(found)


def details_line(items: Iterable[Detail]) -> str:
    """Details on one line, for the export: "Statut : nouvelle → répondue ; Fiche : n° 4"."""
    return " ; ".join(f"{item.label} : {item.value}" for item in items)


def line(event: AuditEvent, accounts: Accounts) -> Line:
    """An event as the audit page shows it."""
    return Line(event=event, actor=actor(event.actor, accounts),
                action=action_label(event.action), sentence=sentence(event, accounts),
                object=object_label(event.object_type, event.object_id, accounts),
                details=details(event, accounts))


@dataclass(frozen=True)
class Choice:
    """One option of a filter list: the code sent, the French label shown."""

    value: str
    label: str


@dataclass(frozen=True)
class ChoiceGroup:
    """A group of options (`<optgroup>`)."""

    label: str
    choices: tuple[Choice, ...]


def action_choices(recorded: Iterable[str]) -> tuple[ChoiceGroup, ...]:
    """The action filter: every known action and any other recorded, grouped, in French.

    Each group starts with "all of the group" (a prefix such as `ticket.`, which the audit
    search understands).
    """
    codes = sorted(set(ACTIONS) | set(recorded))
    groups: dict[str, list[str]] = {}
    for code in codes:
        groups.setdefault(code.partition(".")[0], []).append(code)
    ordered = [prefix for prefix in GROUPS if prefix in groups] + sorted(
        prefix for prefix in groups if prefix not in GROUPS)
    result = []
    for prefix in ordered:
        label = GROUPS.get(prefix, _readable(prefix))
        choices = [Choice(f"{prefix}.", f"{label} : toutes les actions")]
        choices += sorted((Choice(code, action_label(code)) for code in groups[prefix]),
                          key=lambda choice: choice.label)
        result.append(ChoiceGroup(label, tuple(choices)))
    return tuple(result)


def object_choices(recorded: Iterable[str]) -> tuple[Choice, ...]:
    """The object filter: every known object type and any other recorded, in French."""
    codes = set(OBJECT_TYPES) | set(recorded)
    return tuple(sorted((Choice(code, OBJECT_TYPES.get(code, _readable(code)))
                         for code in codes), key=lambda choice: choice.label))
