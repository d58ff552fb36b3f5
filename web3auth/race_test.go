//go:build race

package web3auth_test

// raceEnabled: the race detector is on, and sync.Pool drops some of what is put back, so
// allocation counts are not what they are in a normal build.
const raceEnabled = true
