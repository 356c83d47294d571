"""Settings read from the environment (prefix `SVP_`) and `.env`; read nowhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from knowledge.errors import InvalidInput
from knowledge.retrieval.search import Ranking

SEARCH_DEFAULTS = Ranking()


class Settings(BaseSettings):
    """Every knob of the SVP assistant; zero configuration works (data under ./var)."""

    model_config = SettingsConfigDict(
        env_prefix="SVP_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- storage -------------------------------------------------------------------------
    data_dir: Path = Field(default=Path("var"), description="Dossier des données locales.")
    database_url: str | None = Field(
        default=None, description="URL SQLAlchemy ; par défaut SQLite dans data_dir/svp.db."
    )
    index_dir: Path | None = Field(
        default=None, description="Dossier de l'index FAISS ; par défaut data_dir/index."
    )
    backup_dir: Path | None = Field(
        default=None, description="Dossier des sauvegardes ; par défaut data_dir/backups.")
    backup_keep: int = Field(
        default=14, ge=0, description="Sauvegardes gardées dans ce dossier (les plus récentes) "
        "; 0 : toutes.")

    # --- secrets at rest (docs/security.md) ------------------------------------------------
    secret_key: SecretStr | None = Field(
        default=None,
        description="Clé de chiffrement des secrets (≥ 32 octets) ; sinon data_dir/secret.key.")
    secret_key_previous: SecretStr | None = Field(
        default=None,
        description="Anciennes clés, séparées par des virgules, encore lues (rotation).")

    # --- retrieval -----------------------------------------------------------------------
    embedder: str = Field(
        default="e5-small-int4",
        description="`e5-small-int4` ou `sentence-transformers:<nom ou chemin>`.",
    )
    st_query_prompt: str = Field(default="query: ", description="Préfixe des requêtes (ST).")
    st_passage_prompt: str = Field(default="passage: ", description="Préfixe des fiches (ST).")
    abstain_threshold: float | None = Field(
        default=None, description="Score minimal d'une suggestion ; défaut mesuré par modèle."
    )
    # Ranking signals (docs/retrieval.md, « Réglages du classement »); defaults are the measured
    # best on the held-out sets, checked (values and ranges) by knowledge.retrieval.search.Ranking.
    search_question_vectors: str = Field(
        default=SEARCH_DEFAULTS.question_vectors,
        description="Vecteur de la question de chaque fiche : max, weighted ou off.")
    search_question_weight: float = Field(
        default=SEARCH_DEFAULTS.question_weight,
        description="Part du vecteur de question quand search_question_vectors vaut weighted.")
    search_glossary: str = Field(
        default=SEARCH_DEFAULTS.glossary,
        description="Où agit le glossaire : on, lexical, dense ou off.")
    search_lexical_weight: float = Field(
        default=SEARCH_DEFAULTS.lexical_weight,
        description="Poids du signal lexical dans le score (0 à 1).")
    search_question_lexical_weight: float = Field(
        default=SEARCH_DEFAULTS.question_lexical_weight,
        description="Poids du signal lexical sur la seule question des fiches (0 à 1).")
    search_rerank_pool: int = Field(
        default=SEARCH_DEFAULTS.rerank_pool,
        description="Nombre de candidats des vecteurs reclassés avec le signal lexical.")

    # --- telegram bot --------------------------------------------------------------------
    telegram_token: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    rate_limit_per_minute: int = 5
    rate_limit_per_day: int = 30
    outbox_interval_seconds: float = 2.0
    suggestions_shown: int = 3
    inbox_retention_days: int = Field(
        default=30, ge=1, description="Jours de conservation des mises à jour Telegram traitées."
    )

    # --- retention of personal data (docs/rgpd.md) ------------------------------------------
    retention_ticket_months: int = Field(
        default=24, ge=1, le=240,
        description="Mois après la clôture d'une question avant d'anonymiser son demandeur.")
    retention_outbox_days: int = Field(
        default=90, ge=1, description="Jours avant d'effacer le texte des messages envoyés.")
    retention_audit_details_months: int = Field(
        default=36, ge=1, le=240,
        description="Mois avant d'effacer le détail des entrées du journal d'audit.")
    retention_sessions_days: int = Field(
        default=30, ge=1,
        description="Jours de conservation des sessions terminées et tentatives de connexion.")

    # --- files of questions and answers (docs/admin.md) ----------------------------------
    attachment_max_mb: int = Field(
        default=10, ge=1, le=50,
        description="Taille maximale d'un fichier joint, en Mo (Telegram n'en remet au bot que "
                    "20 au plus).")
    attachment_message_max_mb: int = Field(
        default=25, ge=1, le=200,
        description="Taille maximale de l'ensemble des fichiers d'un message, en Mo.")

    # --- web admin -----------------------------------------------------------------------
    admin_base_url: str = "http://127.0.0.1:8000"
    secure_cookies: bool = False
    session_hours: int = 12
    session_idle_minutes: int = Field(
        default=30, ge=0, description="Inactivité (minutes) qui ferme une session ; 0 : jamais.")
    trusted_proxies: str | None = Field(
        default=None, description="Adresses des proxys inverses dont X-Forwarded-For est cru.")
    second_factor_required: Literal["none", "admins", "all"] = Field(
        default="none", description="Double authentification obligatoire : none, admins, all.")
    target_delay_days: int = 5
    duplicate_threshold: float = 0.93
    answer_signature: str = Field(
        default="— {prénom}, SVP de l'AR Hlm",
        description="Signature ajoutée aux réponses ({prénom}, {nom} : le conseiller).",
    )
    telegram_bot_username: str | None = Field(
        default=None, description="Nom du bot (sans @) pour les liens t.me des invitations."
    )
    review_months: int = Field(
        default=12, ge=1, le=120, description="Délai avant de revérifier une fiche publiée (mois)."
    )
    veille_texts_file: Path | None = Field(
        default=None, description="Fichier JSONL des noms usuels de lois ajoutés par "
                                  "l'association (veille réglementaire).")
    veille_legi_url: str = Field(
        default="https://echanges.dila.gouv.fr/OPENDATA/LEGI/",
        description="Adresse des archives LEGI de la DILA (svp veille download).")
    veille_scratch_dir: Path | None = Field(
        default=None, description="Dossier de travail de l'import des archives LEGI "
                                  "(sinon le dossier temporaire du système).")
    metrics_token: str | None = Field(
        default=None, description="Jeton Bearer accepté sur /metrics (sinon : session web)."
    )
    api_rate_per_minute: int = Field(
        default=120, ge=1, le=100_000, description="Appels par minute et par jeton d'API."
    )
    # Mail: the help centre's sign-in links, and the email rows of the outbox (`svp mail`).
    mail_smtp_host: str | None = Field(
        default=None, description="Serveur SMTP (sans lui, aucun courriel ne part)."
    )
    mail_smtp_port: int = Field(default=587, ge=1, le=65_535, description="Port SMTP.")
    mail_smtp_user: str | None = Field(default=None, description="Identifiant SMTP.")
    mail_smtp_password: SecretStr | None = Field(default=None, description="Mot de passe SMTP.")
    mail_smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="starttls", description="Chiffrement SMTP : none, starttls ou tls (port 465)."
    )
    mail_from: str = Field(default="SVP <svp@localhost>", description="Expéditeur des courriels.")
    mail_auth_failure: Literal["flag", "refuse"] = Field(
        default="flag", description="Courriel dont l'authentification (DMARC, SPF) échoue : "
                                    "flag (question signalée au conseiller) ou refuse."
    )
    mail_trusted_authserv: str = Field(
        default="", description="Serveurs dont l'en-tête Authentication-Results fait foi "
                                "(séparés par des virgules ; vide : tous)."
    )
    mail_interval_seconds: float = Field(
        default=5.0, gt=0, le=3_600, description="Intervalle d'envoi des courriels en attente."
    )
    # Mail in: the mailbox the questions are read from (IMAP, docs/exploitation.md).
    mail_imap_host: str | None = Field(
        default=None, description="Serveur IMAP des questions reçues (sans lui, rien n'est lu)."
    )
    mail_imap_port: int = Field(default=993, ge=1, le=65_535, description="Port IMAP.")
    mail_imap_user: str | None = Field(default=None, description="Identifiant IMAP.")
    mail_imap_password: SecretStr | None = Field(default=None, description="Mot de passe IMAP.")
    mail_imap_security: Literal["tls", "starttls"] = Field(
        default="tls", description="Chiffrement IMAP : tls (port 993) ou starttls (port 143)."
    )
    mail_imap_mailbox: str = Field(default="INBOX", description="Dossier IMAP lu.")
    mail_imap_processed: str = Field(
        default="flag",
        description="Après enregistrement : flag (lu + mot-clé $SvpStored) ou move:<dossier>.")
    mail_imap_cafile: Path | None = Field(
        default=None, description="Autorité de certification du serveur IMAP (sinon : système)."
    )
    mail_imap_poll_seconds: float = Field(
        default=60.0, gt=0, le=3_600,
        description="Intervalle de lecture quand le serveur n'offre pas IDLE.")
    mail_imap_max_megabytes: int = Field(
        default=40, ge=1, le=1_000,
        description="Taille au-delà de laquelle un courriel est noté « trop gros », non lu.")
    help_centre: bool = Field(default=True, description="Centre d'aide des adhérents sous /aide.")
    help_anonymous_reading: bool = Field(
        default=False, description="Lecture du centre d'aide sans connexion (FAQ publique)."
    )

    @field_validator("mail_imap_processed")
    @classmethod
    def _processed_action(cls, value: str) -> str:
        value = value.strip()
        if value == "flag" or (value.startswith("move:") and value[5:].strip()):
            return value
        raise ValueError("flag ou move:<dossier> attendu")

    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to the SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+pysqlite:///{(self.data_dir / 'svp.db').resolve()}"

    def resolved_index_dir(self) -> Path:
        """Return the FAISS index directory, defaulting to data_dir/index."""
        return self.index_dir if self.index_dir is not None else self.data_dir / "index"

    def resolved_backup_dir(self) -> Path:
        """Return the folder of the backup archives, defaulting to data_dir/backups."""
        return self.backup_dir if self.backup_dir is not None else self.data_dir / "backups"


class SettingsError(InvalidInput):
    """A setting's value is not acceptable; the message is one French line naming it."""


# French words for pydantic's error types, so that an operator reads one line in French.
_EXPECTED = {
    "float_parsing": "nombre attendu (point décimal : 0.1)",
    "float_type": "nombre attendu",
    "int_parsing": "nombre entier attendu",
    "int_from_float": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "bool_parsing": "true ou false attendu",
    "literal_error": "valeur non prévue",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
    "finite_number": "nombre fini attendu",
}


def load_settings() -> Settings:
    """Read the settings from the environment and `.env`; one French line if one is wrong."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "SVP_" + "_".join(str(part) for part in first["loc"]).upper()
        reason = _EXPECTED.get(first["type"], first["msg"])
        if first["type"] == "value_error":  # our validators' own French words
            reason = str(first.get("ctx", {}).get("error", reason))
        if first["type"] in ("literal_error", "greater_than_equal", "less_than_equal"):
            reason = f"{reason} ({first['msg']})"
        more = f" (et {error.error_count() - 1} autre(s))" if error.error_count() > 1 else ""
        raise SettingsError(f"réglage {name} invalide (« {first.get('input')} ») : {reason}"
                            f"{more} ; corrigez l'environnement ou le fichier .env.") from None
