"""Phone numbers as attribution sees them: E.164 (``+`` then 7 to 15 digits, no leading zero).

Twilio and ElevenLabs do not agree on how they write a number (``+34930340228``,
``0034 930 34 02 28``, ``sip:+34930340228@public-vip.ie1.twilio.com``), and the old system
compared the raw strings, so one formatting difference sent a call to the wrong workspace
(``seed-system.md`` D-A5). Every number is normalised with the rules below before it is
matched against the workspace directory:

1. Surrounding ASCII whitespace is ignored.
2. A ``sip:``, ``sips:`` or ``tel:`` URI (any letter case) stands for its user part, the
   text up to the first ``@`` or ``;``: ``sip:+34911679868@host`` is ``+34911679868``.
3. Visual separators are dropped: ASCII whitespace, ``-``, ``.``, ``(`` and ``)``.
4. What is left must then be one of
   - ``+`` and 7 to 15 digits, the first not ``0``: already E.164, kept;
   - ``00`` and 7 to 15 digits, the first not ``0``: the international call prefix, which
     becomes ``+``;
   - 11 to 15 bare digits, the first not ``0``: a number written with its country code but
     without the ``+``. Shorter bare digit strings are national numbers whose country cannot
     be known, so they are not guessed at.
5. Anything else (``client:alice``, ``anonymous``, a national number, letters) has no E.164
   form: the result is ``None`` and the record falls to the catch-all workspace.

The warehouse applies the same rules in SQL (``raw.normalize_e164`` in
``warehouse/sql/attribution.sql``); a property test holds the two to the same answers. Only ASCII
classes are used on purpose: Python's and PostgreSQL's notions of Unicode whitespace, digits
and case differ, and the two implementations must never disagree.
"""

from __future__ import annotations

import re

_ASCII_WHITESPACE = " \t\n\r\f\v"
_URI_USER_PART = re.compile(r"(?:[sS][iI][pP][sS]?|[tT][eE][lL]):([^@;]*)")
_SEPARATORS = re.compile(r"[ \t\n\r\f\v().\-]")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_INTERNATIONAL_PREFIX = re.compile(r"00([1-9][0-9]{6,14})")
_BARE_WITH_COUNTRY_CODE = re.compile(r"[1-9][0-9]{10,14}")


def normalize_e164(raw: str | None) -> str | None:
    """The E.164 form of ``raw`` by the rules of this module, or ``None`` if it has none."""
    if raw is None:
        return None
    text = raw.strip(_ASCII_WHITESPACE)
    uri = _URI_USER_PART.match(text)
    if uri:
        text = uri.group(1)
    digits = _SEPARATORS.sub("", text)
    if _E164.fullmatch(digits):
        return digits
    if match := _INTERNATIONAL_PREFIX.fullmatch(digits):
        return "+" + match.group(1)
    if _BARE_WITH_COUNTRY_CODE.fullmatch(digits):
        return "+" + digits
    return None


def is_e164(number: str) -> bool:
    """Whether ``number`` is already written in E.164, with nothing to normalise."""
    return _E164.fullmatch(number) is not None
