package jsonstr

import (
	"encoding/json"
	"testing"
)

// TestPlainEveryByte: Plain accepts exactly the strings encoding/json writes as they are, for
// every byte alone and amid plain text.
func TestPlainEveryByte(t *testing.T) {
	for c := range 256 {
		for _, s := range []string{string([]byte{byte(c)}), "ab" + string([]byte{byte(c)}) + "cd"} {
			enc, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if want := string(enc) == `"`+s+`"`; Plain(s) != want {
				t.Errorf("Plain(%q) = %v, want %v", s, !want, want)
			}
		}
	}
	if !Plain("") {
		t.Error(`Plain("") = false`)
	}
}
