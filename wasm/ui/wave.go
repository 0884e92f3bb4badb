package ui

// Bars resamples waveform peaks (0–255) to n bars of 0–1 for a drawing n
// bars wide: each bar is the loudest peak of its share, so that no loud
// moment disappears when the drawing is narrow.
func Bars(peaks []byte, n int) []float64 {
	if len(peaks) == 0 || n <= 0 {
		return nil
	}
	out := make([]float64, n)
	for i := range n {
		lo, hi := i*len(peaks)/n, (i+1)*len(peaks)/n
		m := byte(0)
		for _, p := range peaks[lo:max(hi, lo+1)] {
			m = max(m, p)
		}
		out[i] = float64(m) / 255
	}
	return out
}
