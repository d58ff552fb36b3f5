package oauthlink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"
)

// Preset URLs.
const (
	GitHubUserURL     = "https://api.github.com/user"
	GoogleUserInfoURL = "https://openidconnect.googleapis.com/v1/userinfo"
)

// maxUserInfo bounds the size of a user info response.
const maxUserInfo = 1 << 20

// GitHub returns the provider "github" for a GitHub OAuth app (or GitHub App) with the given
// credentials: endpoints under https://github.com/login/oauth, scopes read:user and user:email.
// Identify reads GET https://api.github.com/user: id (a number, as a decimal string) is the
// Subject, login the Username, email (the public address; may be empty) the Email.
func GitHub(clientID, clientSecret string) Provider {
	ep := endpoints.GitHub
	ep.AuthStyle = oauth2.AuthStyleInParams
	return Provider{
		Name: "github",
		OAuth2: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     ep,
			Scopes:       []string{"read:user", "user:email"},
		},
		Identify: identifyGitHub,
	}
}

func identifyGitHub(ctx context.Context, client *http.Client) (Identity, error) {
	var u struct {
		ID    json.Number `json:"id"`
		Login string      `json:"login"`
		Email *string     `json:"email"`
	}
	if err := getJSON(ctx, client, GitHubUserURL, http.Header{
		"Accept":               {"application/vnd.github+json"},
		"X-Github-Api-Version": {"2022-11-28"},
	}, &u); err != nil {
		return Identity{}, err
	}
	id, err := strconv.ParseUint(u.ID.String(), 10, 64)
	if err != nil || id == 0 {
		return Identity{}, errors.New("github user: no valid id")
	}
	out := Identity{Subject: strconv.FormatUint(id, 10), Username: u.Login}
	if u.Email != nil {
		out.Email = *u.Email
	}
	return out, nil
}

// Google returns the provider "google" for a Google OAuth client with the given credentials
// (OpenID Connect): endpoints of accounts.google.com, scopes openid, email and profile.
// Identify reads GET https://openidconnect.googleapis.com/v1/userinfo: sub is the Subject,
// email the Email only when email_verified is true, name the Username.
func Google(clientID, clientSecret string) Provider {
	ep := endpoints.Google
	ep.AuthStyle = oauth2.AuthStyleInParams
	return Provider{
		Name: "google",
		OAuth2: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     ep,
			Scopes:       []string{"openid", "email", "profile"},
		},
		Identify: func(ctx context.Context, client *http.Client) (Identity, error) {
			u, err := userInfo(ctx, client, GoogleUserInfoURL)
			if err != nil {
				return Identity{}, err
			}
			id := Identity{Subject: u.Sub, Username: u.Name}
			if u.EmailVerified.known && u.EmailVerified.v {
				id.Email = u.Email
			}
			return id, nil
		},
	}
}

// OIDC returns a generic OpenID Connect (or OAuth 2.0) provider with a user info endpoint.
// scopes default to openid, email and profile. The client authenticates to the token endpoint
// with HTTP Basic (client_secret_basic, the OpenID Connect default); set
// Provider.OAuth2.Endpoint.AuthStyle to change that. Identify reads GET userInfoURL: sub is the
// Subject, preferred_username the Username, email the Email unless email_verified is false.
func OIDC(name, clientID, clientSecret, authURL, tokenURL, userInfoURL string, scopes ...string) Provider {
	if len(scopes) == 0 {
		scopes = []string{"openid", "email", "profile"}
	}
	return Provider{
		Name: name,
		OAuth2: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInHeader},
			Scopes:       append([]string(nil), scopes...),
		},
		Identify: func(ctx context.Context, client *http.Client) (Identity, error) {
			u, err := userInfo(ctx, client, userInfoURL)
			if err != nil {
				return Identity{}, err
			}
			id := Identity{Subject: u.Sub, Username: u.PreferredUsername}
			if !u.EmailVerified.known || u.EmailVerified.v {
				id.Email = u.Email
			}
			return id, nil
		},
	}
}

type oidcUserInfo struct {
	Sub               string   `json:"sub"`
	Email             string   `json:"email"`
	EmailVerified     flexBool `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
}

func userInfo(ctx context.Context, client *http.Client, u string) (oidcUserInfo, error) {
	var info oidcUserInfo
	if err := getJSON(ctx, client, u, http.Header{"Accept": {"application/json"}}, &info); err != nil {
		return info, err
	}
	if info.Sub == "" {
		return info, errors.New("user info: no sub")
	}
	return info, nil
}

// flexBool is a JSON boolean that some providers send as the string "true" or "false".
type flexBool struct{ known, v bool }

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "true", `"true"`:
		*b = flexBool{true, true}
	case "false", `"false"`:
		*b = flexBool{true, false}
	case "null":
		*b = flexBool{}
	default:
		return fmt.Errorf("email_verified: not a boolean")
	}
	return nil
}

// getJSON GETs u with client and decodes a 200 response's JSON body into v.
func getJSON(ctx context.Context, client *http.Client, u string, h http.Header, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUserInfo+1))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if len(body) > maxUserInfo {
		return fmt.Errorf("GET %s: response too large", u)
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}
