// Package memstore is an in-memory implementation of [store.Store], for tests, development and
// single-instance deployments that can afford to lose their nonces and counters on restart.
//
// # Use
//
//	s := memstore.New()
//	defer s.Close()
//
// A [Store] is safe for concurrent use. Its records live in the process: instances behind a load
// balancer do not share them, so a deployment with several instances needs a shared store.
//
// # Bounds
//
// A store keeps at most [DefaultMaxNonces] nonces and [DefaultMaxCounters] counters unless
// [WithMaxNonces] and [WithMaxCounters] say otherwise, so that a flood of unauthenticated
// requests cannot grow the process without limit. A store that is full of live records refuses
// new ones with an error wrapping [store.ErrCapacity]; it never evicts a live record to make room,
// which would let one client spoil another's sign-in. Records already held keep working when the
// store is full: nonces can be read, consumed and deleted, counters keep counting.
//
// # Expiry
//
// Each kind of record is indexed by its expiry (a min-heap beside the map). Every call that can
// add a record first removes up to 32 records that have expired at the call's now, earliest first,
// so a full store refuses a new record only when none of its records has expired. Expired records
// thus go at least as fast as new ones come, each at a cost of O(log n), and no call ever scans
// the whole store. A call that meets an expired record (a lookup of its key) removes it at once.
//
// Times are kept as wall clock readings ([time.Time.Round](0)): the monotonic clock reading of a
// time is dropped, as it would be in any store that serialises times.
package memstore
