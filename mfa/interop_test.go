package mfa_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/walletauth/walletauth/internal/testutil"
)

// moduleRoot is the module's root seen from this package's directory (go test runs a package's
// tests in its directory).
const moduleRoot = ".."

// otplibCode runs interop/totp.mjs, which computes a code with the npm package otplib; epoch 0
// means now.
func otplibCode(t *testing.T, node, secret string, epoch int64) string {
	t.Helper()
	cmd := exec.Command(node, filepath.Join("interop", "totp.mjs"))
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "TOTP_SECRET="+secret)
	if epoch != 0 {
		cmd.Env = append(cmd.Env, "TOTP_EPOCH="+strconv.FormatInt(epoch, 10))
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node interop/totp.mjs: %v: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// TestInteropOtplib: codes that the npm package otplib computes for an enrolment's secret are
// accepted — the current code to confirm, then codes of later steps to verify.
func TestInteropOtplib(t *testing.T) {
	node, err := exec.LookPath("node")
	testutil.Need(t, err == nil, "node is not installed")
	_, err = os.Stat(filepath.Join(moduleRoot, "interop", "node_modules", "otplib"))
	testutil.Need(t, err == nil, "interop/node_modules/otplib is missing (run `npm ci` in interop/)")

	ctx := context.Background()
	e := newEnv(t, nil)
	e.clk.Set(time.Now()) // the script's "now" is the real time
	enr := e.enroll(t, "alice")

	// The current code, as an authenticator app shows it, confirms the factor.
	code := otplibCode(t, node, enr.Secret, 0)
	if _, err := e.svc.Confirm(ctx, "alice", code); err != nil {
		t.Fatalf("Confirm with otplib's current code %s: %v", code, err)
	}

	// Codes at given times (not now): each one verifies at its own time, and agrees with
	// pquerna/otp.
	base := (e.clk.Now().Unix()/30 + 2) * 30
	for i, offset := range []int64{7, 30 + 29, 3*30 + 0, 10*30 + 15} {
		at := base + offset
		code := otplibCode(t, node, enr.Secret, at)
		if want, _ := totp.GenerateCode(enr.Secret, time.Unix(at, 0)); code != want {
			t.Errorf("at %d: otplib computes %s, pquerna/otp %s", at, code, want)
		}
		e.clk.Set(time.Unix(at, 0))
		if err := e.svc.Verify(ctx, "alice", code); err != nil {
			t.Fatalf("Verify %d with otplib's code %s at %d: %v", i, code, at, err)
		}
	}
}
