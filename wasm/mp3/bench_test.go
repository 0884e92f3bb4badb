package mp3

import (
	"bytes"
	"io"
	"testing"

	gomp3 "github.com/hajimehoshi/go-mp3"
)

// classicSeconds is the duration of go-mp3's example/classic.mp3.
const classicSeconds = 355.43

// BenchmarkDecode decodes classic.mp3 (a real 256 kbps recording) with
// go-mp3 into PCM that is thrown away. realtime-x is how many times faster
// than real time that is: scripts/bench runs it natively, under Node.js
// and in Chromium.
func BenchmarkDecode(b *testing.B) {
	data := MustExample(b, "classic.mp3")
	b.SetBytes(int64(len(data)))
	buf := make([]byte, 64<<10)
	for b.Loop() {
		d, err := gomp3.NewDecoder(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{d}, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(classicSeconds/(b.Elapsed().Seconds()/float64(b.N)), "realtime-x")
}

// BenchmarkAnalyze is what an import costs: decoding plus waveform peaks.
func BenchmarkAnalyze(b *testing.B) {
	data := MustExample(b, "classic.mp3")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Analyze(bytes.NewReader(data), 1000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(classicSeconds/(b.Elapsed().Seconds()/float64(b.N)), "realtime-x")
}
