// Command signin signs in to a walletauth server from a program, not a browser: it asks for a
// message, signs it with a private key, posts it to /auth/verify with "refreshTokenInBody", and
// prints the tokens as JSON. With no -key it makes a throwaway key.
//
//	go run ./examples/signin -base http://localhost:8080
//	go run ./examples/signin -base http://localhost:8080 -key 4c0883a6…   # hex private key
//
// The load test (scripts/loadtest.sh) uses it to get an access token.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/crypto"
)

func main() {
	base := flag.String("base", "http://localhost:8080", "the server's origin")
	path := flag.String("path", "/auth", "where walletauth is mounted")
	keyHex := flag.String("key", "", "hex secp256k1 private key (default: a new random key)")
	flag.Parse()
	if err := run(strings.TrimRight(*base, "/")+*path, *keyHex); err != nil {
		fmt.Fprintln(os.Stderr, "signin:", err)
		os.Exit(1)
	}
}

func run(api, keyHex string) error {
	key, err := crypto.GenerateKey()
	if keyHex != "" {
		key, err = crypto.HexToECDSA(strings.TrimPrefix(keyHex, "0x"))
	}
	if err != nil {
		return err
	}
	addr := crypto.PubkeyToAddress(key.PublicKey).Hex()

	var challenge struct{ Message string }
	if err := post(api+"/nonce", map[string]any{"address": addr}, &challenge); err != nil {
		return err
	}
	sig, err := crypto.Sign(accounts.TextHash([]byte(challenge.Message)), key)
	if err != nil {
		return err
	}
	sig[64] += 27 // personal_sign's v

	var out map[string]any
	if err := post(api+"/verify", map[string]any{
		"message": challenge.Message, "signature": "0x" + hex.EncodeToString(sig), "refreshTokenInBody": true,
	}, &out); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func post(url string, body, out any) error {
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s: %d %s: %s", url, resp.StatusCode, e.Error.Code, e.Error.Message)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
