// Package sqlstore holds what the SQL stores (sqlitestore, pgstore) share beyond their SQL: how
// their embedded migrations are named and loaded, and how they keep times (Unix nanoseconds in
// an int64 column).
package sqlstore

import (
	"fmt"
	"io/fs"
	"math"
	"path"
	"strconv"
	"strings"
	"time"
)

// A Migration is one file of a store's migrations, named NNNN_description.sql; NNNN is its
// version.
type Migration struct {
	Version int64
	Name    string // the file name without ".sql"
	SQL     string
}

// LoadMigrations returns the files that match pattern in fsys (such as "migrations/*.sql" of an
// embedded directory) in order of version, which must run from 1 without a gap.
func LoadMigrations(fsys fs.FS, pattern string) ([]Migration, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names { // fs.Glob sorts
		base := path.Base(name)
		digits, _, ok := strings.Cut(base, "_")
		v, err := strconv.ParseInt(digits, 10, 64)
		if !ok || err != nil || v != int64(len(ms)+1) {
			return nil, fmt.Errorf("migration %s: want a name starting with %04d_", base, len(ms)+1)
		}
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(base, ".sql"), SQL: string(text)})
	}
	return ms, nil
}

// The range of times that Unix nanoseconds in an int64 hold: 1677-09-21 to 2262-04-11 (UTC).
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// Nanos returns t as Unix nanoseconds, or false when t is out of their range.
func Nanos(t time.Time) (int64, bool) {
	if t.Before(minTime) || t.After(maxTime) {
		return 0, false
	}
	return t.UnixNano(), true
}

// NowNanos returns the caller's now as Unix nanoseconds, clamped to their range: every stored time
// is in range, so comparisons with a clamped now come out as with the real one.
func NowNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// FromNanos returns the UTC time of Unix nanoseconds.
func FromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }
