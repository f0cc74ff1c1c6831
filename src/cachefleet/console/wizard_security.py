"""The wizard's AUTH token between pages: typed once, then carried sealed.

The wizard posts every field on every page; an AUTH token typed on the Advanced step must reach
the final Create without ever being written back into a page. So the page carries it sealed
(`cachefleet.secrets`, the installation's key) in a hidden field, and the password input is
always rendered empty.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace

from cryptography.exceptions import InvalidTag

from cachefleet.console.wizard_form import WizardForm
from cachefleet.secrets import Sealer


def seal_token(sealer: Sealer, form: WizardForm) -> WizardForm:
    """The form with a token typed on this post sealed for the pages that follow."""
    if not form.auth_token:
        return form
    sealed = base64.urlsafe_b64encode(sealer.seal(form.auth_token.encode())).decode()
    return replace(form, auth_token_sealed=sealed)


def token_of(sealer: Sealer, form: WizardForm) -> str:
    """The token the form carries: typed on this post, else opened from its sealed copy ("" for
    none, or for a sealed copy this installation did not make)."""
    if form.auth_token:
        return form.auth_token
    if not form.auth_token_sealed:
        return ""
    try:
        sealed = base64.urlsafe_b64decode(form.auth_token_sealed.encode())
        return sealer.open(sealed).decode()
    except (InvalidTag, ValueError, binascii.Error):
        return ""
