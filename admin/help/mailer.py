"""The help centre's own mail: the text of a sign-in link (sent by the configured sender)."""

from __future__ import annotations


def sign_in_text(*, url: str, minutes: int) -> str:
    """The French body of a sign-in link message."""
    return (
        "Bonjour,\n\n"
        "Pour vous connecter au centre d'aide du SVP, ouvrez ce lien :\n\n"
        f"{url}\n\n"
        f"Il ne sert qu'une fois et n'est valable que {minutes} minutes. Si vous n'avez rien "
        "demandé, ignorez ce message : personne ne peut se connecter sans ce lien.\n\n"
        "— Le SVP\n"
    )
