"""The text sent through Telegram: light markup, escaping, parts, signature and references."""

from __future__ import annotations

import re

from knowledge.desk.formatting import (
    compose,
    render_parts,
    signature_for,
    to_telegram_html,
)


def test_light_markup_becomes_telegram_html() -> None:
    text = ("**Oui**, le *SLS* s'applique _dès_ le dépassement.\n"
            "- premier point\n* second point\n"
            "Voir [la notice](https://www.service-public.fr/particuliers/vosdroits/F869).")
    assert to_telegram_html(text) == (
        "<b>Oui</b>, le <i>SLS</i> s'applique <i>dès</i> le dépassement.\n"
        "• premier point\n• second point\n"
        'Voir <a href="https://www.service-public.fr/particuliers/vosdroits/F869">la notice</a>.')


def test_everything_else_is_escaped() -> None:
    rendered = to_telegram_html('<script>alert(1)</script> & [x](javascript:alert(1)) '
                                '[y](https://e.fr/?a=1&b="2") article_L441_3 2 * 3 * 4')
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert "javascript" not in re.findall(r'href="([^"]*)"', rendered)[0]
    assert '<a href="https://e.fr/?a=1&amp;b=&quot;2&quot;">y</a>' in rendered
    assert "[x](javascript:alert(1))" in rendered  # not a link: left as typed, escaped
    assert "article_L441_3" in rendered and "<i>" not in rendered


def test_long_answer_is_cut_into_ordered_parts_within_the_limit() -> None:
    paragraphs = [f"Paragraphe {n} : " + ("les **droits** du locataire & du bailleur " * 12)
                  for n in range(1, 16)]
    body = "\n\n".join(paragraphs)
    assert len(body) > 6_000
    parts = render_parts(body=body, header="Réponse du SVP :", formatted=True)
    assert len(parts) >= 2
    assert all(len(part) <= 4_096 for part in parts)
    assert parts[0].startswith("<b>Réponse du SVP :</b>")
    numbers = [int(n) for n in re.findall(r"Paragraphe (\d+)", "".join(parts))]
    assert numbers == list(range(1, 16))  # nothing lost, nothing repeated, in order


def test_plain_parts_are_escaped_without_markup() -> None:
    [part] = render_parts(body="**pas de gras** <b>", formatted=False)
    assert part == "**pas de gras** &lt;b&gt;"


def test_signature_uses_the_advisers_first_name() -> None:
    assert signature_for("— {prénom}, SVP de l'AR Hlm", "Camille Martin") == \
        "— Camille, SVP de l'AR Hlm"
    assert signature_for("{nom} (SVP)", "  Camille   Martin ") == "Camille Martin (SVP)"


def test_references_one_per_line_then_signature() -> None:
    text = compose(answer="Réponse.\n", references=["Art. L. 441-3 CCH", " ", "Décret 2023-1"],
                   signature="— Camille")
    assert text == "Réponse.\n\nRéférences :\nArt. L. 441-3 CCH\nDécret 2023-1\n\n— Camille"
    assert compose(answer="Réponse.") == "Réponse."
