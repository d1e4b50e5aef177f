// The JavaScript/Node.js example of the seed document (client-credentials-flow.md, "Code
// Examples"), re-indented. The only change: the URL comes from the TOKEN_URL environment
// variable (default: the seed's http://localhost:8080/oauth/token) because the test server
// listens on a random port.
const axios = require('axios');

async function getClientCredentialsToken() {
  const params = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    scope: 'read write'
  });

  try {
    const response = await axios.post(
      process.env.TOKEN_URL || 'http://localhost:8080/oauth/token',
      params,
      {
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded'
        }
      }
    );

    return response.data;
  } catch (error) {
    console.error('Token request failed:', error.response?.data);
    throw error;
  }
}

// Usage
(async () => {
  const tokens = await getClientCredentialsToken();
  console.log('Access Token:', tokens.access_token);
  console.log('Expires in:', tokens.expires_in, 'seconds');
})();
