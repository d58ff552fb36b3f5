// Command server is the walletauth demo: a page with a "Sign in with MetaMask" button, a
// two-factor panel and a profile panel (user id, wallets, metadata, email addresses and phone
// numbers, linked GitHub and Google accounts), the walletauth handler with MFA on, and protected API routes, on SQLite.
//
// Email and SMS go through profile.LogSender, the development sender: nothing is delivered, and
// every message — the verification code included — is written to the server log at level WARN
// ("profile: development sender: message not delivered, …", with to= and text=). Read the code
// there. A real deployment configures profile.SMTPSender and profile.WebhookSMSSender instead.
//
//	go run ./examples/server                       # then open http://localhost:8080
//	go run ./examples/server -rate 0 -db /tmp/x.db  # no rate limit (load tests), another database
//	go run ./examples/server -store postgres://localhost/test -fast-store redis://localhost:6379
//	                                               # one of several instances (see the README)
//
// Flags:
//
//	-addr    :8080                          listen address
//	-origin  http://localhost:8080          public origin: SIWE domain and URI, token issuer and
//	                                        audience, cookie scope (plain-http localhost gets
//	                                        non-Secure cookies)
//	-db      walletauth.db                  SQLite file (the embedded default store)
//	-store   (none)                         a postgres://… or redis://… URL instead of SQLite:
//	                                        every record in PostgreSQL (pgstore) or in Redis
//	                                        (redisstore; give it persistence). Instances that
//	                                        share it share sessions, keys and revocations
//	-fast-store  (none)                     a redis://… URL: nonces, rate-limit counters, refresh
//	                                        sessions and verification codes in Redis, the rest in
//	                                        -store (or -db); walletauth.Config.Fast
//	-chains  1,10,137,8453,42161,11155111   allowed chain ids (Ethereum, OP, Polygon, Base,
//	                                        Arbitrum, Sepolia); the first is the default
//	-rate    60                             sign-in and nonce requests per minute per client IP;
//	                                        0 turns the limit off
//	-mfa-key-file  walletauth.mfa.key       the key that seals TOTP secrets (AES-256, 64 hex
//	                                        digits); by default in the directory of -db. Created
//	                                        from crypto/rand with mode 0600 on first start;
//	                                        refused if it is not 32 bytes or if group or others
//	                                        may read or write it. Losing it voids every TOTP
//	                                        enrolment (users then sign in with a recovery code).
//	-github-client-id      (none)           a GitHub OAuth app's client id and secret: with both
//	-github-client-secret  (none)           set, users may link their GitHub account (register
//	                                        the callback <origin>/auth/oauth/github/callback)
//	-google-client-id      (none)           a Google OAuth client's id and secret: with both set,
//	-google-client-secret  (none)           users may link their Google account (callback
//	                                        <origin>/auth/oauth/google/callback). One flag of a
//	                                        pair without the other is refused.
//
// The key that seals the state of an OAuth linking in progress is made afresh from crypto/rand
// at every start: a restart only voids the linkings under way (their state lives 10 minutes).
//
// Routes: / (the page), /auth/ (walletauth, including /auth/client.js, the /auth/mfa routes, and
// /auth/user, /auth/wallets, /auth/contacts and, with a provider configured, /auth/oauth for the
// profile panel), GET /api/me (behind RequireSession: {"userId","address","chainId","aal"}), POST /api/sensitive
// (behind RequireFreshFactor(5 min): {"ok":true}, to show step-up) and GET /healthz ("ok").
package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/mfa"
	"github.com/walletauth/walletauth/oauthlink"
	"github.com/walletauth/walletauth/profile"
	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/pgstore"
	"github.com/walletauth/walletauth/store/redisstore"
	"github.com/walletauth/walletauth/store/sqlitestore"
)

//go:embed static
var staticFiles embed.FS

// options are the demo's flags.
type options struct {
	Addr   string
	Origin string
	DB     string // SQLite file
	Store  string // postgres:// or redis:// URL instead of DB
	// FastStore is a redis:// URL for the fast half (Config.Fast), beside Store or DB.
	FastStore string
	// PGSchema and RedisPrefix name the stores' schema and key prefix; empty: the stores'
	// defaults ("walletauth"). Not flags: the tests give each demo its own.
	PGSchema, RedisPrefix string
	Chains                []uint64 // allowed chain ids
	Rate                  int      // per minute per client IP; 0 = no limit
	// MFAKeyFile holds the hex AES-256 key that seals TOTP secrets; empty: walletauth.mfa.key
	// in the directory of DB.
	MFAKeyFile string
	Logger     *slog.Logger
	// AccessTTL is the access-token lifetime; zero takes walletauth's default. Not a flag: the
	// browser test shortens it to watch the page renew its token.
	AccessTTL time.Duration
	// GitHub and Google hold the OAuth client credentials of the -github-* and -google-* flags;
	// a provider is on when both its id and its secret are set.
	GitHub, Google oauthClient
	// OAuth are more providers whose accounts users may link. Not a flag: the browser test adds
	// a fake OpenID Connect provider.
	OAuth []oauthlink.Provider
}

// oauthClient is an OAuth client's credentials at a provider.
type oauthClient struct{ ID, Secret string }

func (c oauthClient) on() bool { return c.ID != "" && c.Secret != "" }

// oauthProviders lists the providers that opts turns on.
func oauthProviders(opts options) []oauthlink.Provider {
	var ps []oauthlink.Provider
	if opts.GitHub.on() {
		ps = append(ps, oauthlink.GitHub(opts.GitHub.ID, opts.GitHub.Secret))
	}
	if opts.Google.on() {
		ps = append(ps, oauthlink.Google(opts.Google.ID, opts.Google.Secret))
	}
	return append(ps, opts.OAuth...)
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(2)
	}
	opts.Logger = log
	if err := run(opts); err != nil {
		log.Error("server stopped", "error", err)
		os.Exit(1)
	}
}

// parseFlags reads the flags of DESIGN §2.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var chains string
	fs.StringVar(&o.Addr, "addr", ":8080", "listen address")
	fs.StringVar(&o.Origin, "origin", "http://localhost:8080", "public origin: SIWE domain and URI, cookie scope")
	fs.StringVar(&o.DB, "db", "walletauth.db", "SQLite file (the embedded default store)")
	fs.StringVar(&o.Store, "store", "", "a postgres://… or redis://… URL instead of SQLite")
	fs.StringVar(&o.FastStore, "fast-store", "", "a redis://… URL for nonces, counters, refresh sessions and codes, beside -store or -db")
	fs.StringVar(&chains, "chains", "1,10,137,8453,42161,11155111", "allowed chain ids, comma-separated; the first is the default")
	fs.IntVar(&o.Rate, "rate", 60, "sign-in and nonce requests per minute per client; 0 turns the limit off")
	fs.StringVar(&o.MFAKeyFile, "mfa-key-file", mfaKeyName, "file with the hex AES-256 key that seals TOTP secrets, created (mode 0600) if missing; the default name is taken in the directory of -db")
	fs.StringVar(&o.GitHub.ID, "github-client-id", "", "GitHub OAuth app client id (with -github-client-secret: users may link a GitHub account)")
	fs.StringVar(&o.GitHub.Secret, "github-client-secret", "", "GitHub OAuth app client secret")
	fs.StringVar(&o.Google.ID, "google-client-id", "", "Google OAuth client id (with -google-client-secret: users may link a Google account)")
	fs.StringVar(&o.Google.Secret, "google-client-secret", "", "Google OAuth client secret")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "mfa-key-file" })
	if !explicit {
		o.MFAKeyFile = defaultMFAKeyFile(o.DB)
	}
	if o.MFAKeyFile == "" {
		return o, errors.New("-mfa-key-file must name a file")
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := checkStoreURLs(o.Store, o.FastStore); err != nil {
		return o, err
	}
	ids, err := parseChains(chains)
	if err != nil {
		return o, err
	}
	o.Chains = ids
	if o.Rate < 0 {
		return o, errors.New("-rate must be 0 (no limit) or positive")
	}
	for _, p := range []struct {
		flag, name string
		c          oauthClient
	}{{"github", "GitHub", o.GitHub}, {"google", "Google", o.Google}} {
		if (p.c.ID == "") != (p.c.Secret == "") {
			return o, fmt.Errorf("-%s-client-id and -%s-client-secret go together: set both to let users link a %s account, or neither", p.flag, p.flag, p.name)
		}
	}
	return o, nil
}

func parseChains(s string) ([]uint64, error) {
	var ids []uint64
	for part := range strings.SplitSeq(s, ",") {
		id, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("-chains: %q is not a chain id", part)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// storeScheme returns the scheme of a store URL: "postgres" (postgres:// or postgresql://),
// "redis" (redis:// or rediss://, TLS), or an error.
func storeScheme(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", raw)
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return "postgres", nil
	case "redis", "rediss":
		return "redis", nil
	}
	return "", fmt.Errorf("%q: want a postgres://… or redis://… URL", raw)
}

// checkStoreURLs checks the -store and -fast-store URLs.
func checkStoreURLs(st, fast string) error {
	if st != "" {
		if _, err := storeScheme(st); err != nil {
			return fmt.Errorf("-store: %w", err)
		}
	}
	if fast != "" {
		if s, err := storeScheme(fast); err != nil || s != "redis" {
			return fmt.Errorf("-fast-store: %q: want a redis://… URL", fast)
		}
	}
	return nil
}

// openStores opens the store of -store (or the SQLite file of -db) and the fast store of
// -fast-store (nil without it). Connection URLs are never logged: they may hold a password.
func openStores(ctx context.Context, opts options) (store.Store, store.FastStore, error) {
	var st store.Store
	var err error
	switch scheme, _ := storeScheme(opts.Store); {
	case opts.Store == "":
		st, err = sqlitestore.Open(ctx, opts.DB)
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", opts.DB, err)
		}
	case scheme == "postgres":
		st, err = pgstore.Open(ctx, opts.Store, pgstore.Options{Schema: opts.PGSchema})
	default:
		st, err = redisstore.Open(opts.Store, redisstore.Options{Prefix: opts.RedisPrefix})
	}
	if err != nil {
		return nil, nil, fmt.Errorf("-store: %w", err)
	}
	if opts.FastStore == "" {
		return st, nil, nil
	}
	fast, err := redisstore.Open(opts.FastStore, redisstore.Options{Prefix: opts.RedisPrefix})
	if err != nil {
		_ = st.Close()
		return nil, nil, fmt.Errorf("-fast-store: %w", err)
	}
	return st, fast, nil
}

// closeStores closes what openStores opened.
func closeStores(st store.Store, fast store.FastStore) error {
	err := st.Close()
	if c, ok := fast.(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	return err
}

// storeName describes the store for the log, without credentials.
func storeName(opts options) string {
	name := "sqlite " + opts.DB
	if opts.Store != "" {
		name, _ = storeScheme(opts.Store)
	}
	if opts.FastStore != "" {
		name += " + redis (fast)"
	}
	return name
}

// run serves until SIGINT or SIGTERM, then shuts down gracefully.
func run(opts options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h, closeFn, err := newServer(ctx, opts)
	if err != nil {
		return err
	}
	defer closeFn()
	srv := &http.Server{
		Addr:              opts.Addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	opts.Logger.Info("walletauth demo listening", "addr", opts.Addr, "origin", opts.Origin, "store", storeName(opts), "mfaKeyFile", opts.MFAKeyFile, "chains", opts.Chains, "rate", opts.Rate, "oauth", providerNames(oauthProviders(opts)))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	opts.Logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	opts.Logger.Info("stopped", "error", err)
	return err
}

// newServer builds the whole demo: the store, walletauth and the routes. The returned function
// closes walletauth and the store.
func newServer(ctx context.Context, opts options) (http.Handler, func() error, error) {
	if err := checkStoreURLs(opts.Store, opts.FastStore); err != nil {
		return nil, nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	rate := opts.Rate
	switch {
	case rate == 0:
		rate = walletauth.NoRateLimit
	case rate < 0:
		return nil, nil, errors.New("rate must be 0 (no limit) or positive")
	}
	keyFile := opts.MFAKeyFile
	if keyFile == "" {
		keyFile = defaultMFAKeyFile(opts.DB)
	}
	key, created, err := loadOrCreateKey(keyFile)
	if err != nil {
		return nil, nil, err
	}
	if created {
		opts.Logger.Warn("created a new MFA encryption key: keep it with the database, and keep it secret", "file", keyFile)
	}
	providers := oauthProviders(opts)
	var oauthKey []byte
	if len(providers) > 0 {
		// A fresh key at every start: it only seals the state cookie of a linking in progress,
		// which lives 10 minutes, so a restart merely voids the linkings under way (the user
		// clicks "Link" again). Linked accounts are in the store and are not affected.
		oauthKey = make([]byte, 32)
		_, _ = rand.Read(oauthKey) // never fails
	}
	st, fast, err := openStores(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	auth, err := walletauth.New(ctx, walletauth.Config{
		Origin:    opts.Origin,
		ChainIDs:  opts.Chains,
		Store:     st,
		Fast:      fast,
		AppName:   "the walletauth demo",
		Statement: "Sign in to the walletauth demo.",
		RateLimit: rate,
		Logger:    opts.Logger,
		Session:   session.Config{AccessTTL: opts.AccessTTL},
		MFA:       mfa.Config{EncryptionKeys: map[string][]byte{"k1": key}, CurrentKeyID: "k1"},
		// The development sender: codes go to the log, nothing is delivered.
		Email: profile.LogSender{Logger: opts.Logger},
		SMS:   profile.LogSender{Logger: opts.Logger},
		// OAuth account linking, when a provider is configured; the browser comes back to the
		// page ("/", the default OAuthReturnURL) with ?oauth_linked= or ?oauth_error=.
		OAuth:         providers,
		OAuthStateKey: oauthKey,
	})
	if err != nil {
		_ = closeStores(st, fast)
		return nil, nil, err
	}
	closeFn := func() error { return errors.Join(auth.Close(), closeStores(st, fast)) }

	page, err := fs.Sub(staticFiles, "static")
	if err != nil {
		_ = closeFn()
		return nil, nil, err
	}
	// The app's own state-changing routes accept the access cookie too, so they need the same
	// cross-origin protection as walletauth's.
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin(strings.TrimRight(opts.Origin, "/")); err != nil {
		_ = closeFn()
		return nil, nil, fmt.Errorf("origin: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("GET /api/me", auth.RequireSession(http.HandlerFunc(handleMe)))
	mux.Handle("POST /api/sensitive", cop.Handler(auth.RequireFreshFactor(5*time.Minute, http.HandlerFunc(handleSensitive))))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok")
	})
	mux.Handle("/", pageHeaders(http.FileServerFS(page)))
	return mux, closeFn, nil
}

// handleMe answers who is signed in, from the verified access token.
func handleMe(w http.ResponseWriter, r *http.Request) {
	id, ok := walletauth.FromContext(r.Context())
	if !ok { // RequireSession guarantees an identity; this is a wiring mistake.
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	body, err := json.Marshal(me{UserID: id.UserID, Address: id.Address, ChainID: id.ChainID, AAL: id.AAL})
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// handleSensitive stands for an action that wants a recent second factor (a withdrawal, a
// change of payout address): RequireFreshFactor lets only sessions that passed one within the
// last 5 minutes reach it; others get 403 insufficient_assurance and step up.
func handleSensitive(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// me is the body of GET /api/me.
type me struct {
	UserID  string `json:"userId"`
	Address string `json:"address"`
	ChainID uint64 `json:"chainId"`
	AAL     string `json:"aal"`
}

// pageHeaders serves the static page to GET and HEAD only, with a strict content security
// policy: scripts and styles only from this origin (wallet extensions inject theirs regardless).
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// mfaKeyName is the default name of the MFA key file, in the directory of the database.
const mfaKeyName = "walletauth.mfa.key"

func defaultMFAKeyFile(db string) string { return filepath.Join(filepath.Dir(db), mfaKeyName) }

// loadOrCreateKey reads the 32-byte key, written as 64 hex digits, from path; if there is no
// such file it makes one from crypto/rand with mode 0600. It refuses a file of another length
// and, except on Windows, one that group or others may read or write.
func loadOrCreateKey(path string) (key []byte, created bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, mfa.KeySize)
		_, _ = rand.Read(key) // never fails
		nf, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return loadOrCreateKey(path) // another process made it first
		}
		if err != nil {
			return nil, false, fmt.Errorf("MFA key file: %w", err)
		}
		_, err = nf.WriteString(hex.EncodeToString(key) + "\n")
		if err == nil {
			err = nf.Sync()
		}
		if cerr := nf.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(path)
			return nil, false, fmt.Errorf("MFA key file: %w", err)
		}
		return key, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("MFA key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("MFA key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("MFA key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, false, fmt.Errorf("MFA key file %s has mode %#o: group or others may read or write it (chmod 600 it)", path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, false, fmt.Errorf("MFA key file: %w", err)
	}
	key, err = hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, false, fmt.Errorf("MFA key file %s: want %d bytes as %d hex digits: %w", path, mfa.KeySize, 2*mfa.KeySize, err)
	}
	if len(key) != mfa.KeySize {
		return nil, false, fmt.Errorf("MFA key file %s holds %d bytes, want %d (%d hex digits)", path, len(key), mfa.KeySize, 2*mfa.KeySize)
	}
	return key, false, nil
}

// providerNames lists the names of ps, for the log.
func providerNames(ps []oauthlink.Provider) []string {
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return names
}
