"""How API calls say who they are: a personal token (Authorization: Bearer ...) or the UI's session."""

from rest_framework import authentication, exceptions

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
        token = tokens.find_token(parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed("This token is unknown, revoked, or its user is deactivated.")
        tokens.mark_used(token)
        return token.user, token

    def authenticate_header(self, request):
        # Present on 401 responses, so clients know which scheme to use.
        return f'{self.keyword} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The UI's own calls: the logged-in session, with the CSRF check DRF enforces for unsafe methods."""
