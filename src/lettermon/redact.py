"""Secrets out of messages: the password of every URL in a text, shown as ``***``.

One function, :func:`redact`, used wherever text leaves lettermon: every
:class:`~lettermon.errors.LettermonError` redacts its message (store, settings and poll
errors alike), and the log formatters redact every line. It reads URLs as text, never by
parsing them, so a malformed URL (``postgresql://lm:PG%ZZ@host/db``, an unclosed ``[``
host) is redacted like a good one. A password is what follows the user name up to the
last ``@`` before the host; the user name, host and path stay, so the message still says
where. Query parameters that carry secrets (``?password=``, ``?token=``...) are hidden too.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

HIDDEN = "***"

# scheme:// then everything up to white space or a quote: the authority and the rest.
_URL = re.compile(r"""(?i)\b([a-z][a-z0-9+.-]*://)([^\s"'<>`]*)""")
# user:password@host written without a scheme (a netloc, as some messages show it).
_NETLOC = re.compile(r"""(?<![\w/:@%.-])([\w.~%+-]+):([^\s"'<>`/@]+)@(?=[\w\[])""")
_SECRET_PARAMETER = re.compile(
    r"(?i)([?&;](?:password|passwd|pwd|sslpassword|pass|secret|token|access_token|"
    r"api_key|apikey|key|sig|signature)=)([^&#;\s]*)")


def redact(text: str, *secrets: str) -> str:
    """``text`` with the password of every URL in it hidden, and each of ``secrets``
    (and its percent-decoded form) hidden wherever it appears."""
    for secret in secrets:
        for form in {secret, unquote(secret)}:
            if len(form) >= 3:  # a shorter "secret" would hide ordinary words
                text = text.replace(form, HIDDEN)
    text = _URL.sub(lambda m: m.group(1) + _redact_rest(m.group(2)), text)
    return _NETLOC.sub(lambda m: f"{m.group(1)}:{HIDDEN}@", text)


def url_secrets(url: str) -> list[str]:
    """The password and secret query values of ``url``, as written, for :func:`redact`
    to hide where a message quotes them without the URL (even in a malformed URL)."""
    found = []
    match = _URL.match(url.strip())
    if match:
        userinfo, at, _ = match.group(2).rpartition("@")
        _, colon, password = userinfo.partition(":")
        if at and colon and password:
            found.append(password)
    found += [m.group(2) for m in _SECRET_PARAMETER.finditer(url) if m.group(2)]
    return found


def _redact_rest(rest: str) -> str:
    userinfo, at, after = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if at and colon and password and "/" not in user and "?" not in user:
        rest = f"{user}:{HIDDEN}@{after}"
    return _SECRET_PARAMETER.sub(lambda m: m.group(1) + (HIDDEN if m.group(2) else ""), rest)
