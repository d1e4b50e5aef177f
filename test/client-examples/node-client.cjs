// A client of the token endpoint as a Node.js service would write it with axios, the way
// client-credentials tutorials show it. The URL comes from the TOKEN_URL environment variable
// (default: http://localhost:8080/oauth/token) because the test server listens on a random
// port.
const axios = require("axios");

async function getClientCredentialsToken() {
  const params = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    scope: "read write",
  });

  try {
    const response = await axios.post(process.env.TOKEN_URL || "http://localhost:8080/oauth/token", params, {
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
      },
    });

    return response.data;
  } catch (error) {
    console.error("Token request failed:", error.response?.data);
    throw error;
  }
}

// Usage
(async () => {
  const tokens = await getClientCredentialsToken();
  console.log("Access Token:", tokens.access_token);
  console.log("Expires in:", tokens.expires_in, "seconds");
})();
