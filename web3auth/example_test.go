package web3auth_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/walletauth/walletauth/store/memstore"
	"github.com/walletauth/walletauth/web3auth"
)

// A server issues a challenge for the account a wallet reported; the wallet signs its message.
func ExampleService_Challenge() {
	nonces := memstore.New()
	defer nonces.Close()
	svc, err := web3auth.New(web3auth.Config{
		Origin:    "https://example.com",
		ChainIDs:  []uint64{1},
		Nonces:    nonces,
		Statement: "Sign in to Example",
		Clock:     func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	addr, _ := web3auth.ParseAddressAnyCase("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2")
	c, err := svc.Challenge(context.Background(), web3auth.ChallengeRequest{Address: addr, ChainID: 1})
	if err != nil {
		panic(err)
	}
	// The nonce is random; everything else is fixed by the configuration.
	fmt.Println(strings.Replace(c.Message.String(), c.Nonce, "<nonce>", 1))
	// Output:
	// example.com wants you to sign in with your Ethereum account:
	// 0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2
	//
	// Sign in to Example
	//
	// URI: https://example.com
	// Version: 1
	// Chain ID: 1
	// Nonce: <nonce>
	// Issued At: 2030-01-02T03:04:05.000Z
	// Expiration Time: 2030-01-02T03:09:05.000Z
}

// The server verifies what the wallet signed: the message text exactly as signed and the
// signature as hex.
func ExampleService_Verify() {
	nonces := memstore.New()
	defer nonces.Close()
	svc, err := web3auth.New(web3auth.Config{Origin: "https://example.com", ChainIDs: []uint64{1}, Nonces: nonces})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	key, _ := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	addr := crypto.PubkeyToAddress(key.PublicKey)

	c, err := svc.Challenge(ctx, web3auth.ChallengeRequest{Address: addr})
	if err != nil {
		panic(err)
	}
	// In the browser: ethereum.request({method: "personal_sign", params: [message, address]}).
	text := c.Message.String()
	sig, _ := crypto.Sign(accounts.TextHash([]byte(text)), key)
	sig[64] += 27

	acct, err := svc.Verify(ctx, text, "0x"+hex.EncodeToString(sig))
	if err != nil {
		panic(err)
	}
	fmt.Println("signed in:", acct.Address.Hex(), "on chain", acct.ChainID)

	// The nonce is spent: the same message cannot sign in again.
	_, err = svc.Verify(ctx, text, "0x"+hex.EncodeToString(sig))
	fmt.Println(err)
	// Output:
	// signed in: 0x2c7536E3605D9C16a7a3D7b1898e529396a65c23 on chain 1
	// web3auth: nonce invalid: nonce is "", expected a live nonce issued by this server
}

func ExampleParseMessage() {
	m, err := web3auth.ParseMessage(`example.com wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2


URI: https://example.com/login
Version: 1
Chain ID: 1
Nonce: 32891757
Issued At: 2021-09-30T16:25:24Z`)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Domain, m.Address.Hex(), m.ChainID, m.IssuedAt.Time())

	_, err = web3auth.ParseMessage("example.com wants you to sign in with your Ethereum account:\n0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2\n")
	fmt.Println(err)
	// Output:
	// example.com 0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2 1 2021-09-30 16:25:24 +0000 UTC
	// web3auth: invalid message: line 2: address: not an EIP-55 address
}
