// Package oauthlink links accounts at OAuth 2.0 and OpenID Connect providers (GitHub, Google, or
// any provider with a user info endpoint) to walletauth users, with the authorisation code flow
// and PKCE through [golang.org/x/oauth2].
//
// A [Linker] is made by [New] from a [Config] and keeps the linked accounts in a
// [github.com/walletauth/walletauth/store.OAuthStore]; it keeps no other state, so instances that
// share the store and [Config.StateKey] act as one.
//
// # Sections
//
// The sections below describe the providers, the linking flow, the state cookie, errors and
// logging.
//
// # Providers
//
// A [Provider] is a name, an [golang.org/x/oauth2.Config] (client id and secret, endpoint,
// scopes; the redirect URL comes from [Config.RedirectURL]) and an Identify function that reads
// the signed-in account — a stable Subject, and an Email and Username for display — with an
// HTTP client that sends the access token. [GitHub], [Google] and [OIDC] make the common ones;
// their fields may be changed before they are passed to New (another name, more scopes).
// GitHub's Subject is the numeric user id, never the login, which users can change; Google
// reports an Email only when it is verified, and [OIDC] unless email_verified is false.
//
// # Flow
//
// [Linker.Start] makes a fresh state (128 bits) and PKCE verifier (256 bits), and returns the
// provider's authorisation URL, carrying the state and the verifier's S256 challenge, and the
// value of a state cookie. The app sets the cookie (HttpOnly, Secure, SameSite=Lax, scoped to
// the callback path) and redirects the browser to the URL. On the callback the app passes the
// signed-in user, the provider, the cookie and the query to [Linker.Finish], which checks the
// state, exchanges the code with the verifier ([Config.HTTPClient]), calls Identify and links
// the account ([github.com/walletauth/walletauth/store.OAuthStore.LinkOAuth]). The app deletes
// the cookie whatever the outcome. [Linker.Unlink] and [Linker.Accounts] manage links later;
// [Linker.Providers] lists the configured names.
//
// # State cookie
//
// The cookie is the state, the verifier, the user id, the provider and the expiry
// ([Config.StateTTL]) in JSON, sealed with AES-256-GCM under [Config.StateKey] and a random
// nonce, in URL-safe base64. Nobody without the key can read or alter it. Finish refuses a
// cookie that does not open (another key, altered), has expired, or was made for another user or
// provider, and compares the callback's state parameter with the sealed one in constant time; a
// provider's "error" parameter is honoured only with the right state, so that a forged callback
// cannot show a denial. The cookie binds the linking to the browser that started it (no login
// CSRF: an attacker's code cannot be linked to a victim's account), and PKCE binds the code to
// the verifier (an intercepted or injected code is useless). A cookie may be used until it
// expires; the provider's single-use codes are what makes a callback work once.
//
// # Errors
//
// Finish returns [ErrState] for every state or cookie problem and for a callback without a code,
// [ErrDenied] when the provider returned an error, [ErrAlreadyLinked] when the provider account
// is linked to a user already or the user has an account of that provider, and
// [ErrUnknownProvider] for a name that is not configured. Unlink returns [ErrNotLinked]. Token
// exchange, Identify and network failures are returned wrapped and are none of these.
//
// # Logging
//
// [Config.Logger] receives starts (debug), links, unlinks and refusals with the user id, the
// provider and a reason. Tokens, codes, states, verifiers and cookies are never logged, nor are
// the provider's error descriptions; error codes are sanitised.
package oauthlink
