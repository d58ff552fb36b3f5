package redisstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The range of times that the store keeps: Unix nanoseconds in an int64, from 1677 to 2262 (the
// checks of package store refuse others). A now outside it is clamped for comparisons.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeDigits is the width of an encoded time: the 20 decimal digits of a uint64.
const timeDigits = 20

// encNanos encodes Unix nanoseconds as the 20 decimal digits of n + 2^63 (n with its sign bit
// flipped, as a uint64), so that the order of the strings is the order of the times. Lua compares
// strings exactly, where its numbers (doubles) would lose the nanoseconds.
func encNanos(n int64) string {
	var b [timeDigits]byte
	u := uint64(n) ^ 1<<63
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + u%10)
		u /= 10
	}
	return string(b[:])
}

// encTime encodes a time that is zero or in range (the caller checked): "" for the zero time,
// else [encNanos] of its Unix nanoseconds.
func encTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return encNanos(t.UnixNano())
}

// encNow encodes the now of a call for comparisons only: a time before the range encodes as ""
// (before every stored time) and one after it as "~" (after every stored time), so that any now
// compares correctly with the times the store holds.
func encNow(t time.Time) string {
	switch {
	case t.Before(minTime):
		return ""
	case t.After(maxTime):
		return "~"
	}
	return encNanos(t.UnixNano())
}

var errTimeEncoding = errors.New("not a time of 20 decimal digits")

// decTime decodes what [encTime] made; the result is in UTC.
func decTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) != timeDigits {
		return time.Time{}, errTimeEncoding
	}
	var u uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return time.Time{}, errTimeEncoding
		}
		d := uint64(c - '0')
		if u > (math.MaxUint64-d)/10 {
			return time.Time{}, errTimeEncoding
		}
		u = u*10 + d
	}
	return time.Unix(0, int64(u^1<<63)).UTC(), nil
}

// floorMillis returns the Unix milliseconds of t, rounded down: the score of t in a sorted set,
// which holds doubles (exact for whole milliseconds in the range of times).
func floorMillis(t time.Time) int64 {
	n := t.UnixNano()
	ms := n / 1e6
	if n%1e6 < 0 {
		ms--
	}
	return ms
}

// scoreMin returns the least score of a range of scores that starts at t: "-inf" for a time before
// the range, "+inf" for one after it.
func scoreMin(t time.Time) string {
	switch {
	case t.Before(minTime):
		return "-inf"
	case t.After(maxTime):
		return "+inf"
	}
	return strconv.FormatInt(floorMillis(t), 10)
}

// scoreNow returns the score of the now of a call, clamped to the range of times.
func scoreNow(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return floorMillis(minTime)
	case t.After(maxTime):
		return floorMillis(maxTime)
	}
	return floorMillis(t)
}

// ttlMillis returns the time to live, in milliseconds, of a record that expires at expires as the
// caller at now sees it: what is left of its life (nothing when it has expired), rounded up, and
// [TTLMargin]. Redis's TTLs only collect garbage; the store compares expiries with the caller's
// clock itself, so a TTL is relative (the clocks of Redis and of the callers need not agree) and
// longer than the record's life (so that Redis never drops a record that a caller whose clock lags
// by less than the margin still sees live).
func ttlMillis(expires, now time.Time) int64 {
	d := expires.Sub(now) // saturates instead of overflowing
	if d < 0 {
		d = 0
	}
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		ms++
	}
	return ms + TTLMargin.Milliseconds()
}

// encStep encodes a TOTP time step for comparison in Lua: 20 decimal digits for a step at or above
// zero, "-" (before every digit) for a negative one, which is never greater than a LastStep.
func encStep(step int64) string {
	if step < 0 {
		return "-"
	}
	return fmt.Sprintf("%0*d", timeDigits, step)
}

// decStep decodes a LastStep that [encStep] encoded.
func decStep(s string) (int64, error) {
	if len(s) != timeDigits {
		return 0, errors.New("not a step of 20 decimal digits")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("not a step of 20 decimal digits")
	}
	return n, nil
}

// pack encodes a list of byte strings as one string: each item as its length (a uvarint) and its
// bytes. An empty list is "".
func pack[T ~string | ~[]byte](items []T) []byte {
	n := 0
	for _, it := range items {
		n += binary.MaxVarintLen64 + len(it)
	}
	b := make([]byte, 0, n)
	for _, it := range items {
		b = binary.AppendUvarint(b, uint64(len(it)))
		b = append(b, it...)
	}
	return b
}

var errPacking = errors.New("malformed list")

// unpack decodes what [pack] made: nil for "", else the items, each a new slice.
func unpack(s string) ([][]byte, error) {
	var list [][]byte
	for len(s) > 0 {
		n, w := binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)]))
		if w <= 0 || n > uint64(len(s)-w) {
			return nil, errPacking
		}
		list = append(list, []byte(s[w:w+int(n)]))
		s = s[w+int(n):]
	}
	return list, nil
}

// unpackStrings decodes what [pack] made of strings.
func unpackStrings(s string) ([]string, error) {
	list, err := unpack(s)
	if err != nil || list == nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, b := range list {
		out[i] = string(b)
	}
	return out, nil
}

// record is a Redis hash as read: its fields by name.
type record map[string]string

// pairs turns the flat list of fields and values that HGETALL gives in a script into a record.
func pairs(v any) (record, error) {
	list, ok := v.([]any)
	if !ok || len(list)%2 != 0 {
		return nil, fmt.Errorf("unexpected hash reply %T", v)
	}
	r := make(record, len(list)/2)
	for i := 0; i < len(list); i += 2 {
		k, ok1 := list[i].(string)
		val, ok2 := list[i+1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("unexpected hash reply %T, %T", list[i], list[i+1])
		}
		r[k] = val
	}
	return r, nil
}

// decoder reads the fields of a record, remembering the first error.
type decoder struct {
	r   record
	err error
}

func (d *decoder) fail(field string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("field %q: %w", field, err)
	}
}

// str returns a field that must be present.
func (d *decoder) str(field string) string {
	v, ok := d.r[field]
	if !ok {
		d.fail(field, errors.New("missing"))
	}
	return v
}

// opt returns a field that may be absent ("").
func (d *decoder) opt(field string) string { return d.r[field] }

func (d *decoder) bytes(field string) []byte { return []byte(d.str(field)) }

// optBytes returns nil for an absent or empty field.
func (d *decoder) optBytes(field string) []byte {
	if v := d.r[field]; v != "" {
		return []byte(v)
	}
	return nil
}

func (d *decoder) time(field string) time.Time {
	t, err := decTime(d.opt(field))
	if err != nil {
		d.fail(field, err)
	}
	return t
}

// reqTime returns a time that must be set.
func (d *decoder) reqTime(field string) time.Time {
	t, err := decTime(d.str(field))
	if err == nil && t.IsZero() {
		err = errors.New("empty")
	}
	if err != nil {
		d.fail(field, err)
	}
	return t
}

func (d *decoder) uint(field string) uint64 {
	s := d.opt(field)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		d.fail(field, err)
	}
	return n
}

func (d *decoder) int(field string) int64 {
	n, err := strconv.ParseInt(d.str(field), 10, 64)
	if err != nil {
		d.fail(field, err)
	}
	return n
}

func (d *decoder) list(field string) [][]byte {
	l, err := unpack(d.opt(field))
	if err != nil {
		d.fail(field, err)
	}
	return l
}

func (d *decoder) strings(field string) []string {
	l, err := unpackStrings(d.opt(field))
	if err != nil {
		d.fail(field, err)
	}
	return l
}
