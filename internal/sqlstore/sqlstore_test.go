package sqlstore

import (
	"math"
	"testing"
	"testing/fstest"
	"time"
)

func TestLoadMigrations(t *testing.T) {
	good := fstest.MapFS{
		"m/0002_more.sql": {Data: []byte("B")},
		"m/0001_init.sql": {Data: []byte("A")},
		"m/README":        {Data: []byte("not a migration")},
	}
	ms, err := LoadMigrations(good, "m/*.sql")
	if err != nil || len(ms) != 2 || ms[0] != (Migration{1, "0001_init", "A"}) || ms[1] != (Migration{2, "0002_more", "B"}) {
		t.Fatalf("LoadMigrations = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"no number": {"m/init.sql": {}},
		"not first": {"m/0002_b.sql": {}},
		"twice":     {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
	} {
		if _, err := LoadMigrations(fsys, "m/*.sql"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNanos(t *testing.T) {
	t0 := time.Date(2030, 3, 14, 15, 9, 26, 535897932, time.UTC)
	if ns, ok := Nanos(t0); !ok || !FromNanos(ns).Equal(t0) || FromNanos(ns).Location() != time.UTC {
		t.Errorf("round trip of %v: %d %v", t0, ns, ok)
	}
	if _, ok := Nanos(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("1600 is in range")
	}
	if _, ok := Nanos(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("2300 is in range")
	}
	if NowNanos(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)) != math.MinInt64 || NowNanos(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)) != math.MaxInt64 {
		t.Error("NowNanos does not clamp")
	}
	if NowNanos(t0) != t0.UnixNano() {
		t.Error("NowNanos of a time in range")
	}
}
