"""Who reads the help centre: the member's own session cookie and anti-forgery token.

The help centre never reads the advisers' session cookie, and the advisers' pages never read
this one: a member session opens no admin route by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from admin.config import AdminConfig
from admin.security import (
    ConfigDep,
    CsrfRejected,
    KnowledgeDep,
    SentCsrf,
    cookie_name,
    login_csrf_value,
    set_login_csrf_cookie,
    tokens_match,
)
from knowledge.people import members
from knowledge.store.db import unit_of_work
from knowledge.store.models import Organisation

MEMBER_COOKIE = "svp_aide"
PRE_SIGN_IN_COOKIE = "svp_aide_csrf"
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class MemberSignInRequired(Exception):
    """The page is for signed-in members: go to the help centre's sign-in page."""


@dataclass(frozen=True)
class MemberVisitor:
    """The signed-in member of a request."""

    email: str
    organisation_id: int | None
    organisation_name: str
    asker_id: int | None
    csrf_token: str
    session_id: str  # the row of `member_sessions` (the hash of the cookie's token)

    @property
    def label(self) -> str:
        """How the member is named in audit actors and feedback keys (address or asker)."""
        return members.member_label(email=self.email, asker_id=self.asker_id)


def member_token(request: Request, config: AdminConfig) -> str | None:
    """The member session token the browser sent, if any."""
    return request.cookies.get(cookie_name(MEMBER_COOKIE, config))


def current_member(request: Request, knowledge: KnowledgeDep, config: ConfigDep,
                   sent_csrf: SentCsrf) -> MemberVisitor | None:
    """The signed-in member (None for a visitor); every state change carries their token."""
    with unit_of_work(knowledge.sessions) as session:
        row = members.resolve(session=session, token=member_token(request, config))
        if row is None:
            visitor = None
        else:
            organisation = (session.get(Organisation, row.organisation_id)
                            if row.organisation_id is not None else None)
            visitor = MemberVisitor(email=row.email, organisation_id=row.organisation_id,
                                    organisation_name=organisation.name if organisation else "",
                                    asker_id=row.asker_id, csrf_token=row.csrf_token,
                                    session_id=row.id)
    if request.method in _UNSAFE_METHODS:
        expected = (visitor.csrf_token if visitor is not None
                    else request.cookies.get(cookie_name(PRE_SIGN_IN_COOKIE, config)))
        if not tokens_match(sent_csrf, expected):
            raise CsrfRejected()
    request.state.member = visitor
    return visitor


OptionalMember = Annotated[MemberVisitor | None, Depends(current_member)]


def reader(member: OptionalMember, config: ConfigDep) -> MemberVisitor | None:
    """Who may read: a member, or anyone when the association opened reading to all."""
    if member is None and not config.help.anonymous_reading:
        raise MemberSignInRequired()
    return member


def signed_in(member: OptionalMember) -> MemberVisitor:
    """A signed-in member, for what only members do (feedback, their questions)."""
    if member is None:
        raise MemberSignInRequired()
    return member


Reader = Annotated[MemberVisitor | None, Depends(reader)]
SignedIn = Annotated[MemberVisitor, Depends(signed_in)]


def pre_sign_in_token(request: Request, config: AdminConfig) -> str:
    """The anti-forgery token of a browser not signed in yet (double submit), or a new one."""
    return login_csrf_value(request, config, PRE_SIGN_IN_COOKIE)


def set_pre_sign_in_cookie(response: Response, token: str, config: AdminConfig) -> None:
    """Keep the pre-sign-in token in its cookie."""
    set_login_csrf_cookie(response, token, config, PRE_SIGN_IN_COOKIE)


def set_member_cookie(response: Response, token: str, config: AdminConfig) -> None:
    """Give the browser its member session: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    response.set_cookie(cookie_name(MEMBER_COOKIE, config), token,
                        max_age=members.SESSION_HOURS * 3600, httponly=True, samesite="lax",
                        secure=config.secure_cookies, path="/")


def clear_member_cookie(response: Response, config: AdminConfig) -> None:
    """Remove the member session cookie."""
    response.delete_cookie(cookie_name(MEMBER_COOKIE, config), path="/", httponly=True,
                           samesite="lax", secure=config.secure_cookies)
