package audio

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClock(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0:00"}, {9.9, "0:09"}, {75.02, "1:15"}, {355.4, "5:55"}, {3600, "1:00:00"}, {3661, "1:01:01"},
		{-1, "0:00"}, {math.NaN(), "0:00"}, {math.Inf(1), "0:00"},
	} {
		assert.Equal(t, tc.want, Clock(tc.in), "Clock(%v)", tc.in)
	}
}
