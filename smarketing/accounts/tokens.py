"""Single-use, expiring links for setting a password: "forgot password" and invitations.

Both are Django's signed tokens (no table): the signature covers the password hash, the last login and whether
the account is active, so setting the password, logging in or being deactivated voids every earlier link, and
the timestamp inside makes it expire. The two kinds have their own salt, so a reset link cannot be used as an
invitation or the other way round, and their own lifetime (PASSWORD_RESET_TIMEOUT, INVITE_TIMEOUT).
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int


class ResetTokens(PasswordResetTokenGenerator):
    """Password-reset links; valid for PASSWORD_RESET_TIMEOUT seconds and once."""

    key_salt = "smarketing.accounts.tokens.reset"

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{int(user.is_active)}"

    def timeout(self) -> int:
        return settings.PASSWORD_RESET_TIMEOUT

    def check_token(self, user, token):
        # Django's check_token measures every token against PASSWORD_RESET_TIMEOUT; each kind here has its own.
        if not (user and token):
            return False
        try:
            stamp, _ = token.split("-")
            issued = base36_to_int(stamp)
        except ValueError:
            return False
        if not any(
            constant_time_compare(self._make_token_with_timestamp(user, issued, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return False
        return self._num_seconds(self._now()) - issued <= self.timeout()


class InviteTokens(ResetTokens):
    """Invitation links; valid for INVITE_TIMEOUT seconds and until the invited person sets a password."""

    key_salt = "smarketing.accounts.tokens.invite"

    def timeout(self) -> int:
        return settings.INVITE_TIMEOUT


reset_tokens = ResetTokens()
invite_tokens = InviteTokens()
