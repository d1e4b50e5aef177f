// A client of the token endpoint as a Go service would write it with net/http alone, the way
// client-credentials tutorials show it. The URL comes from the TOKEN_URL environment variable
// (default: http://localhost:8080/oauth/token, see tokenURL below) because the test server
// listens on a random port.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
)

type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

func getClientCredentialsToken() (*TokenResponse, error) {
	data := url.Values{}
	data.Set("grant_type", "client_credentials")
	data.Set("client_id", os.Getenv("CLIENT_ID"))
	data.Set("client_secret", os.Getenv("CLIENT_SECRET"))
	data.Set("scope", "read write")

	resp, err := http.Post(
		tokenURL(),
		"application/x-www-form-urlencoded",
		strings.NewReader(data.Encode()),
	)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("token request failed: %s", resp.Status)
	}

	var tokens TokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tokens); err != nil {
		return nil, err
	}

	return &tokens, nil
}

func main() {
	tokens, err := getClientCredentialsToken()
	if err != nil {
		fmt.Printf("Error: %v\n", err)
		return
	}

	fmt.Printf("Access Token: %s\n", tokens.AccessToken)
	fmt.Printf("Expires in: %d seconds\n", tokens.ExpiresIn)
}

// tokenURL is "http://localhost:8080/oauth/token", overridable by TOKEN_URL.
func tokenURL() string {
	if u := os.Getenv("TOKEN_URL"); u != "" {
		return u
	}
	return "http://localhost:8080/oauth/token"
}
