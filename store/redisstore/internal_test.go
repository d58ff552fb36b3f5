package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/store"
)

func TestTimeEncoding(t *testing.T) {
	times := []time.Time{
		minTime,
		time.Date(1700, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Unix(0, -1),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Date(2030, time.March, 14, 15, 9, 26, 535897932, time.UTC),
		time.Date(2030, time.March, 14, 15, 9, 26, 535897933, time.UTC),
		maxTime,
	}
	var encoded []string
	for _, tm := range times {
		s := encTime(tm)
		if len(s) != timeDigits {
			t.Errorf("encTime(%v) = %q, want %d digits", tm, s, timeDigits)
		}
		got, err := decTime(s)
		if err != nil || !got.Equal(tm) {
			t.Errorf("decTime(encTime(%v)) = %v, %v", tm, got, err)
		}
		if enc := encNow(tm); enc != s {
			t.Errorf("encNow(%v) = %q, want %q", tm, enc, s)
		}
		encoded = append(encoded, s)
	}
	if !slices.IsSorted(encoded) {
		t.Errorf("encoded times are not in the order of the times: %q", encoded)
	}
	if encTime(time.Time{}) != "" {
		t.Errorf("encTime(zero) = %q, want \"\"", encTime(time.Time{}))
	}
	// Nows out of range compare before and after every stored time.
	if lo, hi := encNow(time.Time{}), encNow(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); lo >= encoded[0] || hi <= encoded[len(encoded)-1] {
		t.Errorf("encNow out of range = %q, %q", lo, hi)
	}
	for _, bad := range []string{"1", "0000000000000000000x", "99999999999999999999", "-0000000000000000001"} {
		if _, err := decTime(bad); err == nil {
			t.Errorf("decTime(%q) = nil error", bad)
		}
	}
	if floorMillis(time.Unix(0, -1)) != -1 || floorMillis(time.Unix(0, 1e6-1)) != 0 || floorMillis(time.Unix(0, -1e6)) != -1 {
		t.Errorf("floorMillis does not round down")
	}
}

func TestStepEncoding(t *testing.T) {
	steps := []int64{math.MinInt64, -1, 0, 1, 2, 59_000_000, math.MaxInt64 - 1, math.MaxInt64}
	var encoded []string
	for _, st := range steps {
		encoded = append(encoded, encStep(st))
		if st >= 0 {
			if got, err := decStep(encStep(st)); err != nil || got != st {
				t.Errorf("decStep(encStep(%d)) = %d, %v", st, got, err)
			}
		}
	}
	if !slices.IsSorted(encoded) {
		t.Errorf("encoded steps are not in order: %q", encoded)
	}
}

func TestPacking(t *testing.T) {
	lists := [][][]byte{
		nil,
		{{}},
		{{}, {0}, {}},
		{[]byte("a"), make([]byte, 300), {0xff, 0x80}},
	}
	for _, l := range lists {
		got, err := unpack(string(pack(l)))
		if err != nil || len(got) != len(l) {
			t.Errorf("unpack(pack(%q)) = %q, %v", l, got, err)
			continue
		}
		for i := range l {
			if string(got[i]) != string(l[i]) {
				t.Errorf("unpack(pack(%q)) = %q", l, got)
			}
		}
	}
	for _, bad := range []string{"\x05ab", "\xff", "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"} {
		if _, err := unpack(bad); err == nil {
			t.Errorf("unpack(%q) = nil error", bad)
		}
	}
}

func TestTTLMillis(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	margin := TTLMargin.Milliseconds()
	for _, tc := range []struct {
		expires time.Time
		want    int64
	}{
		{base.Add(5 * time.Minute), 300_000 + margin},
		{base.Add(1), 1 + margin}, // rounded up
		{base, margin},
		{base.Add(-time.Hour), margin},
	} {
		if got := ttlMillis(tc.expires, base); got != tc.want {
			t.Errorf("ttlMillis(base%+v) = %d, want %d", tc.expires.Sub(base), got, tc.want)
		}
	}
}

// watchedStore returns a store on a client of its own whose connections bear a name of their own,
// so that the test can find them in CLIENT LIST, and an admin client.
func watchedStore(t *testing.T) (*Store, *redis.Client, string) {
	t.Helper()
	o, err := redis.ParseURL(testutil.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	a := *o
	a.MaxRetries, a.DialerRetries = -1, 1 // no retries: a test without a server skips at once
	admin := redis.NewClient(&a)
	t.Cleanup(func() { admin.Close() })
	if err := admin.Ping(t.Context()).Err(); err != nil {
		testutil.NeedService(t, "Redis", err)
	}
	var b [8]byte
	rand.Read(b[:])
	name := "watest" + hex.EncodeToString(b[:])
	o2 := *o
	o2.ClientName = name
	client := redis.NewClient(&o2)
	t.Cleanup(func() { client.Close() })
	s, err := New(client, Options{Prefix: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		ctx := context.Background()
		iter := admin.Scan(ctx, 0, "{"+name+"}:*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := admin.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("deleting %s: %v", iter.Val(), err)
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("scanning the keys of %s: %v", name, err)
		}
	})
	return s, admin, name
}

// startWatch runs a watch of s; its changes arrive on the first channel, its result on the second.
func startWatch(t *testing.T, s *Store) (<-chan store.Change, <-chan error, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan store.Change, 100)
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		done <- s.Watch(ctx, func(c store.Change) { changes <- c })
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	select {
	case c := <-changes:
		if c != store.ChangeSubscribed {
			t.Fatalf("first change = %v, want %v", c, store.ChangeSubscribed)
		}
	case err := <-done:
		t.Fatalf("Watch = %v before it was live", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no ChangeSubscribed within 5s")
	}
	return changes, done, cancel
}

// TestWatchIdle checks that a watch that hears nothing pings the server and goes on.
func TestWatchIdle(t *testing.T) {
	s, _, _ := watchedStore(t)
	// Long enough that a loaded machine (the race detector, fuzzers beside it) answers a ping in
	// time — with 50 ms one run timed out — and short enough for several pings in the wait.
	s.watchIdle = 250 * time.Millisecond
	changes, done, _ := startWatch(t, s)
	select {
	case err := <-done:
		t.Fatalf("an idle Watch returned %v", err)
	case <-time.After(4 * s.watchIdle):
	}
	if err := s.CreateKey(t.Context(), store.SigningKey{ID: "k", Algorithm: "HS256", Private: []byte{1}, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		if c != store.ChangeKeys {
			t.Errorf("change = %v, want %v", c, store.ChangeKeys)
		}
	case err := <-done:
		t.Fatalf("Watch returned %v", err)
	case <-time.After(2 * time.Second):
		t.Fatal("no change within 2s")
	}
}

// TestWatchConnectionLost checks that a watch whose connection the server drops ends with an
// error (not ErrClosed) instead of resubscribing unseen, and that a new watch works.
func TestWatchConnectionLost(t *testing.T) {
	s, admin, name := watchedStore(t)
	ctx := t.Context()
	_, done, _ := startWatch(t, s)
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for line := range strings.SplitSeq(list, "\n") {
		f := strings.Fields(line)
		if slices.Contains(f, "name="+name) && slices.Contains(f, "sub=1") {
			id := strings.TrimPrefix(f[0], "id=")
			if err := admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("found %d subscribed connections named %s, want 1", killed, name)
	}
	select {
	case err := <-done:
		if err == nil || errors.Is(err, store.ErrClosed) {
			t.Errorf("Watch after its connection was killed = %v, want an error other than ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return within 5s of losing its connection")
	}
	changes, _, _ := startWatch(t, s)
	if err := s.DeleteKey(ctx, "absent"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKey(ctx, store.SigningKey{ID: "k2", Algorithm: "HS256", Private: []byte{1}, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		if c != store.ChangeKeys {
			t.Errorf("change = %v, want %v", c, store.ChangeKeys)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no change within 2s on the new watch")
	}
}

// TestWatchIgnoresUnknown checks that messages the watch does not know are skipped, and that a
// DeleteKey that deleted nothing announces nothing.
func TestWatchIgnoresUnknown(t *testing.T) {
	s, admin, _ := watchedStore(t)
	changes, _, _ := startWatch(t, s)
	for _, payload := range []string{"", "unknown", "Revoked", "keys "} {
		if err := admin.Publish(t.Context(), s.channel, payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteKey(t.Context(), "absent"); err != nil {
		t.Fatal(err)
	}
	if err := admin.Publish(t.Context(), s.channel, msgRevoked).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		if c != store.ChangeRevoked {
			t.Errorf("first change after unknown messages = %v, want %v", c, store.ChangeRevoked)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no change within 2s")
	}
}

// silentServer returns the address of a server that accepts connections and never answers, as a
// Redis server does whose machine hangs or whose network drops replies.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestWatchEndsPromptly checks that a watch that is still connecting (to a server that does not
// answer) ends at once when its context ends or the store is closed, and that a watch with a
// context that is already done returns nil.
func TestWatchEndsPromptly(t *testing.T) {
	addr := silentServer(t)
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			client := redis.NewClient(&redis.Options{Addr: addr})
			t.Cleanup(func() { client.Close() })
			s, err := New(client, Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- s.Watch(ctx, func(store.Change) { t.Error("fn called by a watch that never subscribed") })
			}()
			time.Sleep(200 * time.Millisecond) // in the middle of connecting
			if how == "cancel" {
				cancel()
			} else {
				s.Close()
			}
			select {
			case err := <-done:
				if how == "cancel" && err != nil {
					t.Errorf("Watch after its context ended = %v, want nil", err)
				}
				if how == "close" && !errors.Is(err, store.ErrClosed) {
					t.Errorf("Watch after Close = %v, want ErrClosed", err)
				}
			case <-time.After(time.Second):
				t.Fatalf("Watch did not return within 1s of the %s", how)
			}
		})
	}
	s, _, _ := watchedStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Watch(ctx, func(store.Change) { t.Error("fn called by a watch whose context had ended") }); err != nil {
		t.Errorf("Watch with a context that has ended = %v, want nil", err)
	}
}
