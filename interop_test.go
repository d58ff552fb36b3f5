package walletauth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/store/memstore"
)

// TestInteropJavaScript signs in with the reference JavaScript libraries — siwe builds the
// message, an ethers Wallet signs it, jose verifies the access token against /auth/jwks.json —
// through interop/siwe_client.mjs.
func TestInteropJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	testutil.Need(t, err == nil, "node is not installed")
	_, err = os.Stat(filepath.Join("interop", "node_modules", "siwe"))
	testutil.Need(t, err == nil, "interop/node_modules is missing (run `npm ci` in interop/)")

	ctx := context.Background()
	st := memstore.New()
	t.Cleanup(func() { _ = st.Close() })
	srv := httptest.NewUnstartedServer(nil)
	origin := "http://" + srv.Listener.Addr().String()
	auth, err := walletauth.New(ctx, walletauth.Config{
		Origin:    origin,
		Store:     st,
		RateLimit: walletauth.NoRateLimit,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = auth.Close() })
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)

	for _, sendOrigin := range []string{"0", "1"} {
		t.Run("SEND_ORIGIN="+sendOrigin, func(t *testing.T) {
			cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(cctx, node, filepath.Join("interop", "siwe_client.mjs"))
			cmd.Env = append(os.Environ(), "BASE_URL="+srv.URL, "ORIGIN="+origin, "SEND_ORIGIN="+sendOrigin)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("node interop/siwe_client.mjs: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
			}
			var summary struct {
				OK      bool   `json:"ok"`
				Address string `json:"address"`
				UserID  string `json:"userId"`
				Alg     string `json:"alg"`
				AAL     string `json:"aal"`
			}
			if err := json.Unmarshal(out, &summary); err != nil {
				t.Fatalf("summary is not JSON: %v: %q", err, out)
			}
			if !summary.OK || summary.UserID == "" || !strings.HasPrefix(summary.Address, "0x") {
				t.Fatalf("summary %+v", summary)
			}
			if summary.AAL != "aal1" {
				t.Errorf("aal = %q, want aal1 for a wallet sign-in", summary.AAL)
			}
			t.Logf("interop: %s", strings.TrimSpace(string(out)))
		})
	}

	// A cross-origin POST from a browser is refused, which the script's success above does not show.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/auth/nonce", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST /auth/nonce: status %d, want 403", res.StatusCode)
	}
}
