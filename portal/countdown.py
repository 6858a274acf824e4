"""The SMS code page's resend countdown. The page works without it: the server renders
the resend button disabled until the cooldown ends and says to reload then. With
JavaScript, this inline script counts down on the button and enables it on time; the
portal's Content-Security-Policy allows it by its hash and no other script."""

from __future__ import annotations

import base64
import hashlib

# data-wait: seconds left; data-pattern: the label with {s} for them; data-ready: the label
SCRIPT = (
    "document.querySelectorAll('button[data-wait]').forEach(function(b){"
    "var end=Date.now()+1000*Number(b.dataset.wait);"
    "(function tick(){var s=Math.ceil((end-Date.now())/1000);"
    "if(s<=0){b.disabled=false;b.textContent=b.dataset.ready;return}"
    "b.textContent=b.dataset.pattern.replace('{s}',s);setTimeout(tick,250)})()})")
_DIGEST = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
CSP_SOURCE = f"'sha256-{_DIGEST}'"
