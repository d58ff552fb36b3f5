// Package walletauth embeds "Sign in with Ethereum" in a Go web server, with sessions done the
// way a hosted auth provider does them — inside the app.
//
// # Use
//
// Create an [Auth] with [New], mount [Auth.Handler] at its base path and wrap the app's routes
// with [Auth.RequireSession]:
//
//	st, _ := sqlitestore.Open(ctx, "walletauth.db")
//	auth, err := walletauth.New(ctx, walletauth.Config{Origin: "https://example.com", Store: st})
//	mux.Handle("/auth/", auth.Handler())
//	mux.Handle("/api/me", auth.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		id, _ := walletauth.FromContext(r.Context())
//		fmt.Fprintln(w, id.UserID, id.Address)
//	})))
//
// A page gets a working sign-in button from one script tag: <script src="/auth/client.js">
// and an element with a data-walletauth attribute.
//
// # The HTTP API
//
// Under the base path (default /auth): POST nonce, POST verify, POST refresh, POST logout,
// GET session, GET jwks.json, GET client.js, and the session list: GET sessions,
// DELETE sessions/{id}, POST sessions/revoke-others. Bodies are JSON; errors are
// {"error":{"code":…,"message":…}} with a 4xx status for every client mistake and a 5xx only for
// server faults (see [Error]). README lists every route with its body.
//
// # Tokens and cookies
//
// A sign-in creates a refresh session ([session.Manager]) and answers with a short-lived access
// token (60 s by default) in the body and in an HttpOnly cookie; the refresh token travels only
// in an HttpOnly cookie scoped to the base path, unless a non-browser client asks for it in the
// body ("refreshTokenInBody": true at verify). Cookies are SameSite=Lax, and Secure with the
// __Host-/__Secure- name prefixes unless the origin is plain-http localhost. The middleware takes
// the token from "Authorization: Bearer" (which wins) or the cookie, never from the query
// string, and verifies it without I/O.
//
// # Protection
//
// Every state-changing route is behind net/http's [http.CrossOriginProtection] with the
// configured origin trusted; request bodies are capped at [MaxBodyBytes]; nonce and verify are
// rate-limited per client IP with counters in the store (X-Forwarded-For is believed only from
// [Config.TrustedProxies]). Security events are logged with log/slog, never with a token or
// secret in them.
package walletauth
