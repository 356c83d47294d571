"""The API rate limit counted in the database: one limit for every worker, under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from knowledge.people import api_rate
from knowledge.store.api_models import ApiRateCall
from knowledge.store.db import make_engine, make_session_factory, unit_of_work


def test_parallel_calls_from_two_engines_admit_exactly_the_limit(database_url: str) -> None:
    # Two engines stand for two web workers: each has its own connections to the database.
    engines = [make_engine(database_url), make_engine(database_url)]
    factories = [make_session_factory(engine) for engine in engines]
    now = 5000.0

    def call(number: int) -> float:
        with unit_of_work(factories[number % 2]) as session:
            return api_rate.admit(session=session, key="k", per_minute=10, now=now)

    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            waits = list(pool.map(call, range(16)))
    finally:
        for engine in engines:
            engine.dispose()
    assert sum(1 for wait in waits if wait == 0.0) == 10
    assert all(wait == 60.0 for wait in waits if wait)


def test_expired_calls_are_forgotten_and_keys_are_apart(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        with unit_of_work(sessions) as session:
            assert api_rate.admit(session=session, key="a", per_minute=1, now=100.0) == 0.0
            assert api_rate.admit(session=session, key="a", per_minute=1, now=130.0) == 30.0
            assert api_rate.admit(session=session, key="b", per_minute=1, now=130.0) == 0.0
            assert api_rate.admit(session=session, key="a", per_minute=1, now=160.0) == 0.0
            assert api_rate.sweep(session=session, now=250.0) == 2
            assert session.scalar(select(func.count()).select_from(ApiRateCall)) == 0
    finally:
        engine.dispose()
