// Package storetest is a conformance suite for implementations of [store.Store], in the manner of
// [testing/fstest.TestFS] and gocloud's drivertest: an implementation's test file runs the whole
// contract of package store in a few lines.
//
// # Usage
//
// Call [Run] from a test, with a factory that returns a fresh, empty store and registers its own
// cleanup:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s := mystore.New()
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Every subtest gets its own store from the factory. One subtest closes its store, so the cleanup
// must tolerate a second Close (ignore its error, or make Close idempotent).
//
// # What it checks
//
// [Run] covers, for nonces: that every field survives a round trip to the nanosecond; conflicts on
// live values and re-creation over expired ones; [store.ErrInvalid] for records a store cannot
// keep; that a record whose expiry is at or before now behaves exactly as an absent one;
// single-use consumption; failure counting; idempotent deletion. For counters: fixed windows that
// start at the first increment and restart at their end, independent keys, idempotent resets and
// the rejection of non-positive windows. For both: that a call with a cancelled context returns an
// error wrapping [context.Canceled] and changes nothing; that concurrent consumption has exactly
// one winner and concurrent increments lose no update and hand out every count once; and that calls
// after Close fail.
//
// The suite never sleeps and never reads the clock: every call gets a "now" derived from a fixed
// time in 2030, which the stores must treat as the only truth. It runs in well under a second per
// store.
package storetest
