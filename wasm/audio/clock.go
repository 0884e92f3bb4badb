package audio

import (
	"math"
	"strconv"
)

// Clock formats seconds as m:ss, or h:mm:ss from an hour on.
func Clock(sec float64) string {
	if math.IsNaN(sec) || math.IsInf(sec, 0) || sec < 0 {
		sec = 0
	}
	t := int(sec)
	h, m, s := t/3600, t/60%60, t%60
	two := func(n int) string {
		if n < 10 {
			return "0" + strconv.Itoa(n)
		}
		return strconv.Itoa(n)
	}
	if h > 0 {
		return strconv.Itoa(h) + ":" + two(m) + ":" + two(s)
	}
	return strconv.Itoa(m) + ":" + two(s)
}
