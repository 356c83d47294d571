"""Throttling of secret checks: per (account, address), per address, growing delay, atomic."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from knowledge.people import throttle
from knowledge.store.db import make_session_factory, unit_of_work
from knowledge.timeutil import utcnow

LIMITS = throttle.LoginLimits(per_account_address=5, per_ip=20, window_minutes=15,
                              delay_after=3, delay_base_seconds=1.0, delay_max_seconds=10.0)


def _fail(session: Session, login: str, ip: str, limits: throttle.LoginLimits = LIMITS) -> None:
    throttle.reserve(session=session, login=login, ip=ip, limits=limits)
    throttle.note_account_failure(session=session, login=login, limits=limits)


def test_failures_from_other_addresses_never_lock_the_owner_out(session: Session) -> None:
    for number in range(12):
        try:
            _fail(session, "camille", "10.0.0.66")
        except throttle.TooManyAttempts:
            assert number >= LIMITS.per_account_address
    # The owner, from their own address, still gets their password checked.
    throttle.reserve(session=session, login="camille", ip="10.0.0.1", limits=LIMITS)


def test_the_pair_is_refused_after_its_limit_until_the_window_ends(session: Session) -> None:
    for _ in range(LIMITS.per_account_address):
        _fail(session, "camille", "10.0.0.66")
    with pytest.raises(throttle.TooManyAttempts, match="Trop de tentatives"):
        throttle.reserve(session=session, login="camille", ip="10.0.0.66", limits=LIMITS)
    later = utcnow() + timedelta(minutes=LIMITS.window_minutes + 1)
    throttle.reserve(session=session, login="camille", ip="10.0.0.66", limits=LIMITS, now=later)


def test_an_address_guessing_many_accounts_is_refused(session: Session) -> None:
    for number in range(LIMITS.per_ip):
        _fail(session, f"compte{number}", "10.0.0.66")
    with pytest.raises(throttle.TooManyAttempts):
        throttle.reserve(session=session, login="camille", ip="10.0.0.66", limits=LIMITS)
    throttle.reserve(session=session, login="camille", ip="10.0.0.1", limits=LIMITS)


def test_a_success_gives_the_reservation_back(session: Session) -> None:
    for _ in range(LIMITS.per_account_address - 1):
        _fail(session, "camille", "10.0.0.1")
    throttle.reserve(session=session, login="camille", ip="10.0.0.1", limits=LIMITS)
    throttle.release(session=session, login="camille", ip="10.0.0.1")
    for _ in range(LIMITS.per_account_address):  # a fresh allowance after the success
        throttle.reserve(session=session, login="camille", ip="10.0.0.1", limits=LIMITS)


def test_failures_across_addresses_slow_the_account_down_more_and_more(
        session: Session) -> None:
    delays = []
    for number in range(9):
        delays.append(throttle.account_delay(session=session, login="camille", limits=LIMITS))
        _fail(session, "camille", f"10.0.1.{number}")
    assert delays[:4] == [0.0, 0.0, 0.0, 1.0]
    assert delays[4:] == [2.0, 4.0, 8.0, 10.0, 10.0]  # doubling, then capped
    assert throttle.account_delay(session=session, login="bob", limits=LIMITS) == 0.0
    later = utcnow() + timedelta(minutes=LIMITS.window_minutes + 1)
    assert throttle.account_delay(session=session, login="camille", limits=LIMITS,
                                  now=later) == 0.0


def test_a_hundred_parallel_attempts_check_no_more_than_the_limit(engine: Engine) -> None:
    factory = make_session_factory(engine)

    def attempt(_number: int) -> bool:
        try:
            with unit_of_work(factory) as session:
                throttle.reserve(session=session, login="camille", ip="10.0.0.66",
                                 limits=LIMITS)
            return True
        except throttle.TooManyAttempts:
            return False

    with ThreadPoolExecutor(max_workers=25) as pool:
        checked = sum(pool.map(attempt, range(100)))
    assert checked == LIMITS.per_account_address
