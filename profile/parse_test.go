package profile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/walletauth/walletauth/profile"
)

func TestParseEmail(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":                 "alice@example.com",
		"  Alice.Smith+tag@Example.COM \t":  "alice.smith+tag@example.com",
		"o'brien@sub.example.co.uk":         "o'brien@sub.example.co.uk",
		"user@xn--bcher-kva.example":        "user@xn--bcher-kva.example",
		"user@bücher.example":               "user@bücher.example",
		"JÖRG@Müller.DE":                    "jörg@müller.de",
		"a@b-c.example":                     "a@b-c.example",
		strings.Repeat("a", 64) + "@ex.com": strings.Repeat("a", 64) + "@ex.com",
	} {
		got, err := profile.ParseEmail(in)
		if err != nil || got != want {
			t.Errorf("ParseEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	long := strings.Repeat("a", 60) + "@" + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + "." + strings.Repeat("e", 10) + ".com"
	for _, in := range []string{
		"", " ", "alice", "alice@", "@example.com", "alice@localhost", "alice@example", "alice@@example.com",
		"Alice <alice@example.com>", "<alice@example.com>", "alice@example.com (Alice)", `"alice smith"@example.com`,
		"alice@example.com, bob@example.com", "alice@[127.0.0.1]", "alice@127.0.0.1", "alice@example..com",
		"alice@.example.com", "alice@example.com.", "alice@-example.com", "alice@example-.com", "alice@exa_mple.com",
		"alice\r\n@example.com", "alice@example.com\r\nBcc: x@example.com", "al ice@example.com", "alice@exam ple.com",
		strings.Repeat("a", 65) + "@example.com", "a@" + strings.Repeat("b", 64) + ".com", long,
		"alice@example.com\x00", "\xffalice@example.com",
	} {
		if got, err := profile.ParseEmail(in); !errors.Is(err, profile.ErrInvalidEmail) || got != "" {
			t.Errorf("ParseEmail(%q) = %q, %v; want ErrInvalidEmail", in, got, err)
		}
	}
}

func TestParsePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+14155550100":          "+14155550100",
		"+1 (415) 555-0100":     "+14155550100",
		" +44 20 7946 0958 ":    "+442079460958",
		"+12345678":             "+12345678",        // 8 digits
		"+123456789012345":      "+123456789012345", // 15 digits
		"+49-(0)30 1234567-890": "+490301234567890",
	} {
		got, err := profile.ParsePhone(in)
		if err != nil || got != want {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "+", "14155550100", "004415550100", "+04155550100", "+1234567", "+1234567890123456",
		"+1 415 555 0100 ext 1", "+1.415.555.0100", "+1415555010O", "++14155550100", "(+1) 4155550100",
		"+1415\n5550100", "+١٤١٥٥٥٥٠١٠٠", "tel:+14155550100", "+1" + strings.Repeat(" ", 70) + "4155550100",
	} {
		if got, err := profile.ParsePhone(in); !errors.Is(err, profile.ErrInvalidPhone) || got != "" {
			t.Errorf("ParsePhone(%q) = %q, %v; want ErrInvalidPhone", in, got, err)
		}
	}
}

func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"alice@example.com", "A <a@b.c>", "a@bücher.example", `"x y"@z.com`, "a@[1.2.3.4]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := profile.ParseEmail(s)
		if err != nil {
			if got != "" || !errors.Is(err, profile.ErrInvalidEmail) {
				t.Fatalf("%q: %q, %v", s, got, err)
			}
			return
		}
		if len(got) > profile.MaxEmailLen || strings.ContainsAny(got, "\r\n <>,\"") || strings.Count(got, "@") != 1 {
			t.Fatalf("%q gave %q", s, got)
		}
		if again, err := profile.ParseEmail(got); err != nil || again != got {
			t.Fatalf("%q gave %q, which parses to %q, %v", s, got, again, err)
		}
	})
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"+14155550100", "+1 (415) 555-0100", "0415", "+0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := profile.ParsePhone(s)
		if err != nil {
			if got != "" || !errors.Is(err, profile.ErrInvalidPhone) {
				t.Fatalf("%q: %q, %v", s, got, err)
			}
			return
		}
		if len(got) < 9 || len(got) > 16 || got[0] != '+' || got[1] == '0' || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("%q gave %q", s, got)
		}
		if again, err := profile.ParsePhone(got); err != nil || again != got {
			t.Fatalf("%q gave %q, which parses to %q, %v", s, got, again, err)
		}
	})
}
