"""Gets a token from Tessera with authlib's own private_key_jwt client (RFC 7523), unmodified.

Usage: authlib_private_key_jwt.py TOKEN_URL CLIENT_ID KEY_PEM_FILE ALG [AUDIENCE]

Without AUDIENCE, authlib signs for the token endpoint URL (its documented default); with it,
PrivateKeyJWT(AUDIENCE) signs for that audience (Tessera's issuer identifier). Prints one JSON
line: the token response, or {"error": ..., "error_description": ...} as authlib raised it.
"""
import json
import sys

from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT


def main():
    token_url, client_id, key_file, alg = sys.argv[1:5]
    audience = sys.argv[5] if len(sys.argv) > 5 else None
    with open(key_file) as f:
        private_key = f.read()
    session = OAuth2Session(client_id, private_key, token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(audience or token_url, alg=alg))
    try:
        token = session.fetch_token(token_url, grant_type="client_credentials")
    except OAuthError as e:
        print(json.dumps({"error": e.error, "error_description": e.description}))
        return
    print(json.dumps(dict(token)))


if __name__ == "__main__":
    main()
