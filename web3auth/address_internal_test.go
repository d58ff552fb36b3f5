package web3auth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// TestSameAddress: a nonce's stored address matches the message's in any letter case, and
// nothing else does (fail closed on whatever is not an address).
func TestSameAddress(t *testing.T) {
	a := common.HexToAddress("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2")
	s := FormatAddress(a)
	for _, ok := range []string{s, strings.ToLower(s), "0x" + strings.ToUpper(s[2:])} {
		if !sameAddress(ok, &a) {
			t.Errorf("sameAddress(%q) = false", ok)
		}
	}
	other := common.HexToAddress("0x71C7656EC7ab88b098defB751B7401B5f6d8976F")
	for _, bad := range []string{FormatAddress(other), "", "0x", s[2:], s[:41], s + "0", "0X" + s[2:], " " + s, s[:40] + "zz"} {
		if sameAddress(bad, &a) {
			t.Errorf("sameAddress(%q) = true", bad)
		}
	}
}

// TestAddressLine: for every message the parser accepts (the EIP-4361 parsing vectors), the
// address line that Verify hands out is the parsed address in EIP-55 form.
func TestAddressLine(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "parsing_positive.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors map[string]struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(raw, &vectors); err != nil || len(vectors) == 0 {
		t.Fatalf("vectors: %v", err)
	}
	for name, v := range vectors {
		m, err := ParseMessage(v.Message)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := addressLine(v.Message); got != m.Address.Hex() {
			t.Errorf("%s: address line %q, want %q", name, got, m.Address.Hex())
		}
	}
}
