//go:build !race

package web3auth_test

const raceEnabled = false
