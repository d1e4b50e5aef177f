#!/bin/sh
# The cURL example of the seed document (client-credentials-flow.md, "Code Examples"), as a
# script. Changes from the seed, and only these: the URL comes from $TOKEN_URL (default: the
# seed's http://localhost:8080/oauth/token) because the test server listens on a random port,
# and the YOUR_CLIENT_ID / YOUR_CLIENT_SECRET placeholders are $CLIENT_ID / $CLIENT_SECRET.
TOKEN_URL="${TOKEN_URL:-http://localhost:8080/oauth/token}"

curl -X POST "$TOKEN_URL" \
  -H "Content-Type: application/x-www-form-urlencoded" \
  -d "grant_type=client_credentials" \
  -d "client_id=$CLIENT_ID" \
  -d "client_secret=$CLIENT_SECRET" \
  -d "scope=read write"
