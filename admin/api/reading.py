"""Search and statistics through the API (read-only)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from admin.api.auth import CurrentCaller
from admin.api.schemas import HitOut, SearchOut, Stats
from admin.security import ConfigDep, DbSession, KnowledgeDep, end_read
from knowledge.desk import statistics
from knowledge.desk.workdays import PARIS
from knowledge.timeutil import utcnow

router = APIRouter(tags=["recherche et statistiques"])


@router.get("/search", response_model=SearchOut)
def search(knowledge: KnowledgeDep, db: DbSession, caller: CurrentCaller,
           q: Annotated[str, Query(min_length=1, max_length=1000, description="La question.")],
           k: Annotated[int, Query(ge=1, le=50, description="Nombre de fiches.")] = 5,
           ) -> SearchOut:
    """Rank the active entries closest to a question, with their scores and the abstention."""
    end_read(db)  # the search reads on its own
    threshold = knowledge.abstain_threshold
    # Raw ranking, as the knowledge-base page shows it; the engine abstains when no hit reaches
    # the threshold (search.decide), and the bot then suggests nothing.
    ranked = knowledge.similar(q, k=k, min_score=-1.0)
    abstained = not any(hit.score >= threshold for hit in ranked.hits)
    return SearchOut(query=q, abstained=abstained, threshold=threshold,
                     hits=[HitOut.model_validate(hit) for hit in ranked.hits])


@router.get("/stats", response_model=Stats)
def stats(db: DbSession, config: ConfigDep, caller: CurrentCaller,
          start: Annotated[date | None, Query(alias="from", description="Premier jour.")] = None,
          end: Annotated[date | None, Query(alias="to", description="Dernier jour inclus.")
                         ] = None) -> Stats:
    """The figures of a period and of the one before it (the same as `svp stats --json`)."""
    period = statistics.parse_period(start.isoformat() if start else None,
                                     end.isoformat() if end else None,
                                     today=utcnow().astimezone(PARIS).date())
    report = statistics.report(session=db, period=period, target_days=config.target_delay_days)
    return Stats(**report.to_dict())
