# A client of the token endpoint as a Python service would write it with requests, the way
# client-credentials tutorials show it. The URL comes from the TOKEN_URL environment variable
# (default: http://localhost:8080/oauth/token) because the test server listens on a random
# port.
import requests
import os

def get_client_credentials_token():
    url = os.environ.get('TOKEN_URL', 'http://localhost:8080/oauth/token')
    data = {
        'grant_type': 'client_credentials',
        'client_id': os.environ['CLIENT_ID'],
        'client_secret': os.environ['CLIENT_SECRET'],
        'scope': 'read write'
    }

    response = requests.post(url, data=data)
    response.raise_for_status()

    return response.json()

# Usage
if __name__ == '__main__':
    tokens = get_client_credentials_token()
    print(f"Access Token: {tokens['access_token']}")
    print(f"Expires in: {tokens['expires_in']} seconds")
