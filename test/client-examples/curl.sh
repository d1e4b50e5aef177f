#!/bin/sh
# The token request as client-credentials tutorials show it with curl. The URL comes from
# $TOKEN_URL (default: http://localhost:8080/oauth/token) because the test server listens on a
# random port; the credentials come from $CLIENT_ID / $CLIENT_SECRET.
TOKEN_URL="${TOKEN_URL:-http://localhost:8080/oauth/token}"

curl -X POST "$TOKEN_URL" \
  -H "Content-Type: application/x-www-form-urlencoded" \
  -d "grant_type=client_credentials" \
  -d "client_id=$CLIENT_ID" \
  -d "client_secret=$CLIENT_SECRET" \
  -d "scope=read write"
