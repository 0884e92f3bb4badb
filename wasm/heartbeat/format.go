package heartbeat

import (
	"math"
	"strconv"
	"strings"
)

// FormatSeconds formats a time in seconds the way PROTOCOL.md §3 wants it:
// a plain decimal with at most 3 decimals, trailing zeros trimmed and no
// exponent ("15.4", "30", "0.125"). NaN, negative values and infinities,
// which a media element can report while it loads, become "0".
func FormatSeconds(s float64) string {
	return formatFixed(s, 3)
}

// FormatRatio formats a 0–1 ratio with at most 4 decimals, clamped to 0–1.
func FormatRatio(r float64) string {
	if r > 1 {
		r = 1
	}
	return formatFixed(r, 4)
}

func formatFixed(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return "0"
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}

// knownDuration reports whether d is a usable media duration: positive and
// finite. Live streams report +Inf, loading media NaN.
func knownDuration(d float64) bool {
	return d > 0 && !math.IsInf(d, 0) && !math.IsNaN(d)
}

// finitePos turns a reported position into a usable one.
func finitePos(p float64) float64 {
	if math.IsNaN(p) || math.IsInf(p, 0) || p < 0 {
		return 0
	}
	return p
}
