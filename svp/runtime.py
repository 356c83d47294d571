"""Wiring: build the objects a process needs from the settings."""

from __future__ import annotations

from collections.abc import Callable

from index.embedders import Embedder
from knowledge.desk.attachments import MB, AttachmentLimits
from knowledge.people.retention import RetentionPolicy
from knowledge.retrieval.search import Ranking
from knowledge.runtime import Knowledge
from knowledge.watch.references import load_text_names
from svp.settings import Settings


def embedder_factory(settings: Settings) -> Callable[[], Embedder]:
    """Return a callable that loads the configured embedder."""

    def load() -> Embedder:
        from index.embedders import make_embedder

        return make_embedder(
            settings.embedder,
            query_prompt=settings.st_query_prompt,
            passage_prompt=settings.st_passage_prompt,
        )

    return load


def ranking(settings: Settings) -> Ranking:
    """How the search ranks entries, from the SVP_SEARCH_* settings (checked here)."""
    return Ranking(question_vectors=settings.search_question_vectors,
                   question_weight=settings.search_question_weight,
                   glossary=settings.search_glossary,
                   lexical_weight=settings.search_lexical_weight,
                   question_lexical_weight=settings.search_question_lexical_weight,
                   rerank_pool=settings.search_rerank_pool)


def build_knowledge(settings: Settings) -> Knowledge:
    """Build the knowledge base of this process from the settings."""
    if settings.veille_texts_file is not None:
        # A malformed file stops the process at once, naming the line, not a page later.
        load_text_names(settings.veille_texts_file)
    return Knowledge.from_url(
        settings.resolved_database_url(),
        embedder_factory=embedder_factory(settings),
        index_dir=settings.resolved_index_dir(),
        abstain_threshold=settings.abstain_threshold,
        ranking=ranking(settings),
        legal_texts_file=settings.veille_texts_file,
    )


def retention_policy(settings: Settings) -> RetentionPolicy:
    """The retention limits of personal data from the settings."""
    return RetentionPolicy(ticket_months=settings.retention_ticket_months,
                           outbox_days=settings.retention_outbox_days,
                           inbox_days=settings.inbox_retention_days,
                           audit_details_months=settings.retention_audit_details_months,
                           sessions_days=settings.retention_sessions_days)


def attachment_limits(settings: Settings) -> AttachmentLimits:
    """The size limits of attached files from the settings."""
    per_file = settings.attachment_max_mb * MB
    return AttachmentLimits(per_file_bytes=per_file,
                            per_message_bytes=max(settings.attachment_message_max_mb * MB,
                                                  per_file))
