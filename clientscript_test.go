package walletauth_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletauth/walletauth/internal/testutil"
)

// TestClientScript runs the unit tests of client.js (js/test/*.test.mjs) with Node: the script in a
// vm with a stubbed fetch, for what a browser test reaches only slowly or by chance — a sign-out
// during the page-load renewal, the back-off of failed renewals, another tab's account arriving
// with a renewal. The demo's Chromium test covers the page.
func TestClientScript(t *testing.T) {
	node, err := exec.LookPath("node")
	testutil.Need(t, err == nil, "node is not installed")
	files, err := filepath.Glob(filepath.Join("js", "test", "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tests in js/test: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if out, err := exec.CommandContext(ctx, node, f).CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}
