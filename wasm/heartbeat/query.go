package heartbeat

import (
	"strings"
	"unicode/utf8"
)

// Query holds the parameters of the player page's URL, decoded the way
// browsers decode them (the WHATWG application/x-www-form-urlencoded parser
// that URLSearchParams uses): "+" is a space, a "%" that does not start a
// valid escape stays as it is, and bytes that are not UTF-8 become U+FFFD.
// Values are never interpreted further; they are sent as they stand.
type Query struct {
	pairs [][2]string
}

// ParseQuery parses a URL query string, with or without its leading "?".
// It never fails: a hostile query yields odd values, not an error.
func ParseQuery(raw string) Query {
	raw = strings.TrimPrefix(raw, "?")
	var q Query
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		q.pairs = append(q.pairs, [2]string{formDecode(name), formDecode(value)})
	}
	return q
}

// Get returns the first value of the parameter name and whether it was
// present at all.
func (q Query) Get(name string) (string, bool) {
	for _, p := range q.pairs {
		if p[0] == name {
			return p[1], true
		}
	}
	return "", false
}

// formDecode percent-decodes s leniently and replaces "+" with a space.
func formDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return toValidUTF8(s)
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return toValidUTF8(string(b))
}

// toValidUTF8 decodes s as the WHATWG Encoding Standard's UTF-8 decoder
// does, which is what URLSearchParams uses: each maximal invalid sequence
// becomes one U+FFFD.
func toValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needed == 0 {
			switch {
			case c <= 0x7F:
				b.WriteByte(c)
			case c >= 0xC2 && c <= 0xDF:
				needed, cp = 1, rune(c&0x1F)
			case c >= 0xE0 && c <= 0xEF:
				if c == 0xE0 {
					lower = 0xA0
				} else if c == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(c&0xF)
			case c >= 0xF0 && c <= 0xF4:
				if c == 0xF0 {
					lower = 0x90
				} else if c == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(c&0x7)
			default:
				b.WriteRune(utf8.RuneError)
			}
			continue
		}
		if c < lower || c > upper {
			// The sequence is cut short: one U+FFFD, then this byte anew.
			needed, seen, cp = 0, 0, 0
			lower, upper = 0x80, 0xBF
			b.WriteRune(utf8.RuneError)
			i--
			continue
		}
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(c&0x3F)
		seen++
		if seen == needed {
			b.WriteRune(cp)
			needed, seen, cp = 0, 0, 0
		}
	}
	if needed != 0 {
		b.WriteRune(utf8.RuneError)
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}
