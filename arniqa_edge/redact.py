"""Hiding the credentials in a source string before it is shown, logged, stored or turned into a file name.

Camera URLs often carry a login: `rtsp://admin:secret@10.0.0.7/stream`. `redact`
replaces the userinfo of every URL in a string (`admin:secret@` -> `***@`), for
any scheme (rtsp, rtsps, http, https, rtmp, srt, ...), also inside a GStreamer
pipeline (`rtspsrc location=rtsp://admin:secret@cam/1 ! ...`), and the password
properties of GStreamer elements and URL queries (`user-pw=secret`,
`video.cgi?user=admin&pwd=secret` -> `user-pw=***`, `pwd=***`). The string is
still recognisable (scheme, host, path); only the secret is gone.

The source itself is opened with the original string: redact only what leaves
the process (logs, outputs, events, file names).
"""

from __future__ import annotations

import re

#: What replaces the userinfo of a URL and the value of a password property.
MASK = "***"

# scheme://userinfo@ : the userinfo runs to the last "@" before the host, so a raw "@" in a password
# (`admin:p@ss@cam`) is hidden too; it cannot cross "/", "?" or "#", so an "@" in a path or query
# (`http://host/a@b`) is left alone. A quoted URL (`location="rtsp://..."`) may hold spaces; a bare one
# ends at whitespace.
_QUOTED_USERINFO = re.compile(r"(?P<scheme>(?<=[\"'])[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/?#\"']*)@")
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/?#@\s\"']*(?:@[^/?#@\s\"']*)*)@")
# Password properties of GStreamer elements (rtspsrc user-pw, souphttpsrc proxy-pw, srtsrc passphrase)
# and password parameters of URL queries (`video.cgi?user=admin&pwd=...`, common on IP cameras).
_PASSWORD_PROPERTY = re.compile(
    r"(?P<name>\b(?:user-pw|proxy-pw|passphrase|password|passwd|pwd)\s*=\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s!&#]+)"
)


def redact(source: str) -> str:
    """`source` with the credentials of every URL in it, and password properties, replaced by ***."""
    text = _USERINFO.sub(_hide_userinfo, _QUOTED_USERINFO.sub(_hide_userinfo, str(source)))
    return _PASSWORD_PROPERTY.sub(lambda match: f"{match['name']}{MASK}", text)


def _hide_userinfo(match: re.Match) -> str:
    return f"{match['scheme']}{MASK}@"
