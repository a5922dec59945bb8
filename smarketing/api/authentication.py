"""How API calls say who they are: a personal token (Authorization: Bearer ...) or the UI's session."""

from rest_framework import authentication, exceptions

from smarketing.accounts import throttle
from smarketing.api import tokens


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer smk_...`; request.auth is the ApiToken (its scope is checked by permissions)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request)
        if not header:
            return None
        try:
            parts = header.decode("latin-1").split()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The Authorization header is not readable.")
        if not parts or parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Use `Authorization: Bearer <token>` with one token.")
        # Guessing tokens is throttled per address: after API_MAX_BAD_TOKENS_PER_IP misses, 429 until the lock ends.
        ip = throttle.client_ip(request._request)
        wait = throttle.bad_token_wait(ip)
        if wait:
            detail = f"Too many requests with unknown API tokens from this address; {throttle.try_again(wait)}."
            raise exceptions.Throttled(wait=wait, detail=detail)
        token = tokens.find_token(parts[1])
        if token is None:
            throttle.bad_token(ip)
            raise exceptions.AuthenticationFailed("This token is unknown, revoked, or its user is deactivated.")
        tokens.mark_used(token)
        return token.user, token

    def authenticate_header(self, request):
        # Present on 401 responses, so clients know which scheme to use.
        return f'{self.keyword} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The UI's own calls: the logged-in session, with the CSRF check DRF enforces for unsafe methods."""
