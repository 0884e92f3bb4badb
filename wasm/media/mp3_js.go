package media

import (
	"errors"
	"io"
	"math"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"syscall/js"
	"time"
	"unsafe"

	"github.com/pulsehq/pulse/wasm/audio"
	"github.com/pulsehq/pulse/wasm/browser"
	"github.com/pulsehq/pulse/wasm/mp3"
)

// Tunables of the MP3 player.
const (
	// lead is how far ahead of the audio clock playback (re)starts: the
	// time to schedule the first chunk, with room to spare.
	lead = 0.04
	// aheadPlaying and aheadPaused bound how much audio is decoded ahead
	// of the playhead: a few seconds of PCM, never the whole file.
	aheadPlaying = 6.0
	aheadPaused  = 1.5
	// refill is when decoding resumes: less than this is decoded ahead.
	refill = 3.0
	// cushion is how much must be decoded before playback goes on after a
	// stall, so that a slow network plays in stretches, not in stutters.
	cushion = 2.0
	// waitingAfter is how long the clock waits for audio before the
	// player says it is buffering (a seek usually takes less).
	waitingAfter = 250 * time.Millisecond
	// chunkSeconds is the length of a decoded chunk (one AudioBuffer);
	// the first after a start or seek is short, so that it is ready at
	// once.
	chunkSeconds      = 0.5
	firstChunkSeconds = 0.1
	// slice is the main-thread time decoding may take before yielding.
	slice = 4 * time.Millisecond
	// preloadBytes is how much of the file is fetched before the viewer
	// first presses play (as preload="metadata" and a bit), so that a
	// page nobody plays does not download an hour of audio.
	preloadBytes = 512 << 10
	// tick is how often the player checks its clock while playing, and
	// timeupdateEvery how often it reports the position.
	tick            = 100 * time.Millisecond
	timeupdateEvery = 250 * time.Millisecond
	// maxBadFrames is how many frames in a row may fail to decode (each
	// is played as silence) before the file counts as corrupt.
	maxBadFrames = 40
	// fetchRetries bounds how often a broken download resumes.
	fetchRetries = 3
	// memoryMargin is the memory the player may use beyond the file's
	// bytes before Go collects garbage early.
	memoryMargin = 48 << 20
)

// MP3Options configure an MP3.
type MP3Options struct {
	// Duration is the duration the server measured at import, if any; the
	// player's own, from the file, replaces it once the file has arrived.
	Duration float64
	// Start is where playback starts, in seconds: a link's t=. It is
	// not a seek: no seeking or seeked events.
	Start float64
	// Loop plays the media again from the start at its end.
	Loop bool
	// Peaks, when set, is called with the waveform computed from the
	// decoded audio as it grows, for media the server has no peaks for.
	Peaks func([]byte)
}

// MP3 is a Media that plays an MP3 file with Pulse's own decoder
// (wasm/mp3, go-mp3) through the Web Audio API. The file is fetched as a
// stream and indexed as it arrives; a few seconds are decoded ahead of the
// playhead, in slices that yield to the browser, into chunks that are
// scheduled back to back on the audio context's clock. The position is
// that clock's: what heartbeats report is what is heard.
//
// Pitch is not kept at other playback rates: the audio is resampled, as
// a tape played faster (AudioBufferSourceNode.playbackRate).
type MP3 struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change, for waiters
	opts    MP3Options
	subs    []func(Event)
	events  []Event       // emitted, not yet dispatched
	notify  chan struct{} // wakes the dispatcher

	// The file.
	url       string
	loading   bool // load has started
	data      []byte
	complete  bool  // all of it has arrived
	loadErr   error // the download failed for good
	idx       mp3.Index
	wanted    bool          // the viewer asked to play (or seek): fetch on past the preload
	warm      bool          // decoding may start before the first play (Preload)
	cutShort  bool          // the file ends before the server's duration
	lastTimes time.Duration // browser.Uptime of the last progress event

	// Decoding.
	gen      int     // bumped by every seek that needs a new decoder
	decodeAt int     // the frame the decoder produces next
	pending  float64 // a target to decode from before the first frame tells the rate; -1 when none
	eos      bool
	queue    []*chunk // decoded, from the playhead on
	badRun   int      // frames in a row that failed to decode
	peaks    *audio.Peaks
	scratch  js.Value // a Float32Array to copy samples through

	// Playback.
	ctx      js.Value // the AudioContext, made on the first play
	gain     js.Value
	offline  bool // ctx is an OfflineAudioContext (tests)
	tl       audio.Timeline
	sources  []js.Value
	onended  js.Func
	paused   bool
	ended    bool
	seeking  bool
	waiting  bool          // the clock waits for audio (a Waiting event was sent)
	rebuffer bool          // stalled while playing: start again with a cushion
	stalled  time.Duration // browser.Uptime when the clock started waiting; 0 when it runs
	volume   float64
	muted    bool
	err      error
	lastTick time.Duration // browser.Uptime of the last timeupdate
	plays    int           // counts Play calls, so that one ticker runs
}

// chunk is decoded audio: media seconds [start, end) in an AudioBuffer.
type chunk struct {
	start, end float64
	buf        js.Value
}

// NewMP3 returns a player of the MP3 at url. It fetches nothing until
// Preload, Play or Seek: the page's own start-up comes first.
func NewMP3(url string, opts MP3Options) *MP3 {
	m := newMP3(opts)
	m.url = url
	go m.decodeLoop()
	return m
}

// startLoad starts fetching the file, once. Called with mu held.
func (m *MP3) startLoad() {
	if m.url != "" && !m.loading {
		m.loading = true
		go m.load(m.url)
	}
}

func newMP3(opts MP3Options) *MP3 {
	start := max(opts.Start, 0)
	if d := opts.Duration; d > 0 && start >= d {
		start = 0 // a start at or past the end: from the beginning
	}
	m := &MP3{changed: make(chan struct{}), notify: make(chan struct{}, 1), opts: opts, paused: true, volume: 1,
		tl: audio.NewTimeline(start), pending: -1}
	if start > 0 {
		m.pending = start
	}
	m.onended = js.FuncOf(func(js.Value, []js.Value) any {
		go m.check()
		return nil
	})
	go m.dispatch()
	return m
}

// SupportsMP3 reports whether this browser can play MP3 through Pulse's
// decoder: Web Audio with AudioBuffer constructors, and fetch streams.
func SupportsMP3() bool {
	g := js.Global()
	return (g.Get("AudioContext").Truthy() || g.Get("webkitAudioContext").Truthy()) &&
		g.Get("AudioBuffer").Type() == js.TypeFunction && g.Get("ReadableStream").Truthy()
}

// signal wakes every waiter. Called with mu held.
func (m *MP3) signal() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// wait releases mu until the next signal. Called with mu held.
func (m *MP3) wait() {
	ch := m.changed
	m.mu.Unlock()
	<-ch
	m.mu.Lock()
}

// emit queues events for the subscribers. Called with mu held: they run
// in order once it is released, as media element events do.
func (m *MP3) emit(evs ...Event) {
	m.events = append(m.events, evs...)
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// dispatch calls the subscribers with the events, in order.
func (m *MP3) dispatch() {
	for range m.notify {
		m.mu.Lock()
		evs, subs := m.events, m.subs
		m.events = nil
		m.mu.Unlock()
		for _, ev := range evs {
			for _, f := range subs {
				f(ev)
			}
		}
	}
}

// fail stops playback with an error for the viewer. Called with mu held.
func (m *MP3) fail(err error) {
	if m.err != nil {
		return
	}
	browser.Warn("the MP3 cannot be played: " + err.Error())
	m.err = err
	if !m.paused {
		m.stopOutput()
		m.paused = true
		m.emit(Pause)
	}
	m.signal()
	m.emit(Error)
}

// --- Loading -----------------------------------------------------------

// load fetches the file as a stream, indexing it as it arrives. A broken
// download resumes with a Range request, a few times.
func (m *MP3) load(url string) {
	m.mu.Lock()
	m.emit(LoadStart)
	m.mu.Unlock()
	tries := 0
	for {
		err := m.fetch(url)
		if err == nil {
			return
		}
		m.mu.Lock()
		if m.err != nil {
			m.mu.Unlock()
			return
		}
		var fatal *fatalError
		if errors.As(err, &fatal) || tries >= fetchRetries {
			m.loadErr = err
			if len(m.data) == 0 || m.idx.Frames() == 0 {
				m.fail(err)
			} else {
				browser.Warn("the MP3 download broke off (" + err.Error() + "): playing what arrived")
				m.signal()
			}
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		tries++
		browser.Info("the MP3 download broke off (" + err.Error() + "): resuming")
		time.Sleep(time.Duration(1<<(tries-1)) * time.Second)
	}
}

// fatalError is a download failure that trying again will not mend.
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

// fetch gets the rest of the file: all of it, or from where a broken
// download stopped.
func (m *MP3) fetch(url string) error {
	m.mu.Lock()
	from := len(m.data)
	m.mu.Unlock()
	headers := map[string]any{}
	if from > 0 {
		headers["Range"] = "bytes=" + strconv.Itoa(from) + "-"
	}
	p, err := browser.Call(js.Global(), "fetch", url, js.ValueOf(map[string]any{
		"credentials": "same-origin", "headers": headers,
	}))
	if err != nil {
		return err
	}
	res, err := browser.Await(p)
	if err != nil {
		return err
	}
	status := res.Get("status").Int()
	switch {
	case from > 0 && status != 206:
		return &fatalError{"the server cannot resume the download (HTTP " + strconv.Itoa(status) + ")"}
	case status == 404:
		return &fatalError{"the media file is missing on the server (HTTP 404)"}
	case status < 200 || status > 299:
		return errors.New("HTTP " + strconv.Itoa(status))
	}
	if from == 0 {
		if n, err := strconv.Atoi(res.Get("headers").Call("get", "Content-Length").String()); err == nil && n > 0 && n <= mp3.MaxFileSize {
			m.mu.Lock()
			m.data = make([]byte, 0, n) // one allocation, no copies as it grows
			m.mu.Unlock()
			// Go would let its heap grow to twice what is live before
			// collecting: with an hour of MP3 in memory, that is a second
			// hour's worth of garbage. Collect sooner once past the file
			// plus a margin for the decoder's garbage.
			debug.SetMemoryLimit(int64(n) + memoryMargin)
		}
	}
	body := res.Get("body")
	if !body.Truthy() {
		return &fatalError{"this browser cannot stream the media"}
	}
	reader := body.Call("getReader")
	// Reads of data that has arrived resolve as microtasks, which run in
	// one go: yield now and then, or a fast network makes a long task.
	budget := browser.Budget{Slice: slice}
	for {
		budget.Spend()
		if !m.mayFetch() {
			continue
		}
		p, err := browser.Call(reader, "read")
		if err != nil {
			return err
		}
		r, err := browser.Await(p)
		if err != nil {
			return err
		}
		if r.Get("done").Bool() {
			break
		}
		v := r.Get("value")
		n := v.Get("byteLength").Int()
		m.mu.Lock()
		if m.err != nil {
			m.mu.Unlock()
			reader.Call("cancel")
			return nil
		}
		at := len(m.data)
		m.data = slices.Grow(m.data, n)[:at+n]
		js.CopyBytesToGo(m.data[at:], v)
		m.indexed(false)
		m.mu.Unlock()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	before := m.duration()
	m.complete = true
	m.indexed(true)
	if m.duration() != before {
		m.emit(DurationChange)
	}
	return nil
}

// mayFetch waits while the preload is done and nobody asked to play.
func (m *MP3) mayFetch() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.wanted || len(m.data) < preloadBytes || m.err != nil {
		return true
	}
	m.wait()
	return false
}

// indexed takes note of new data. Called with mu held.
func (m *MP3) indexed(final bool) {
	if err := m.idx.Scan(m.data, final); err != nil {
		if m.idx.Frames() == 0 {
			m.fail(errors.New("the file is not an MP3 that Pulse can play (" + err.Error() + ")"))
			return
		}
		browser.Warn("the rest of the MP3 cannot be read: " + err.Error())
	}
	if m.peaks == nil && m.opts.Peaks != nil && m.idx.Frames() > 0 && m.opts.Duration > 0 {
		m.peaks = audio.NewPeaks(1000, m.opts.Duration)
	}
	if final {
		if d := m.opts.Duration; d > 0 && m.idx.Duration() < d-0.5 && m.idx.Cut() {
			m.cutShort = true
			browser.Warn("the MP3 file ends at " + strconv.FormatFloat(m.idx.Duration(), 'f', 1, 64) +
				" s, before the " + strconv.FormatFloat(d, 'f', 1, 64) + " s it had when imported: it is cut short")
		}
	}
	if now := browser.Uptime(); final || now-m.lastTimes >= timeupdateEvery {
		m.lastTimes = now
		m.emit(Progress)
	}
	m.signal()
}

// CutShort reports whether the file turned out shorter than the server's
// duration for it: truncated since it was imported.
func (m *MP3) CutShort() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cutShort
}

// --- Decoding ----------------------------------------------------------

// errStale ends a decoder whose generation a seek has replaced.
var errStale = errors.New("media: decoder replaced")

// reader reads the file from an offset for one decoder generation,
// waiting for bytes that have not arrived yet.
type reader struct {
	m   *MP3
	gen int
	off int
}

func (r *reader) Read(p []byte) (int, error) {
	m := r.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		switch {
		case r.gen != m.gen || m.err != nil:
			return 0, errStale
		case r.off < len(m.data):
			n := copy(p, m.data[r.off:])
			r.off += n
			return n, nil
		case m.complete:
			return 0, io.EOF
		case m.loadErr != nil:
			return 0, io.EOF // play what arrived
		}
		m.wait()
	}
}

// ahead returns how many seconds are decoded past the playhead. Called
// with mu held.
func (m *MP3) ahead() float64 {
	if m.pending >= 0 {
		return 0
	}
	return m.idx.Time(m.decodeAt) - m.position()
}

// needDecode reports whether the decoder should go on. Called with mu
// held.
func (m *MP3) needDecode(goal float64) bool {
	return m.err == nil && !m.eos && (m.warm || m.wanted) && m.ahead() < goal
}

// goal is how far ahead to decode now. Called with mu held.
func (m *MP3) goal() float64 {
	if m.paused {
		return aheadPaused
	}
	return aheadPlaying
}

// decodeLoop decodes ahead of the playhead for as long as the page lives,
// one decoder generation after another.
func (m *MP3) decodeLoop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		for !m.needDecode(min(refill, m.goal())) {
			m.wait()
		}
		m.decodeGen(m.gen, m.decodeAt)
	}
}

// decodeGen runs one decoder from frame k until its generation is
// replaced, the stream ends, or the file proves corrupt. Called with mu
// held; it releases it while decoding.
func (m *MP3) decodeGen(gen, k int) {
	dec, k, err := m.open(gen, k)
	if err != nil {
		if !errors.Is(err, errStale) {
			m.fail(err)
		}
		return
	}
	var (
		budget  = browser.Budget{Slice: slice}
		rate    = m.idx.SampleRate()
		spf     = m.idx.FrameSamples()
		want    = max(1, int(math.Ceil(firstChunkSeconds*float64(rate)/float64(spf))))
		left    []float32
		right   []float32
		n       int
		startAt = k
	)
	flush := func() {
		if n > 0 {
			m.push(gen, startAt, k, left[:n*spf], right[:n*spf])
		}
		startAt, n = k, 0
		want = max(1, int(math.Ceil(chunkSeconds*float64(rate)/float64(spf))))
	}
	for {
		if gen != m.gen || m.err != nil {
			return
		}
		if n == 0 && !m.needDecode(m.goal()) {
			m.wait()
			continue
		}
		if left == nil || len(left) < want*spf {
			left, right = make([]float32, want*spf), make([]float32, want*spf)
		}
		m.mu.Unlock()
		pcm, err := dec.Frame()
		budget.Spend()
		m.mu.Lock()
		if gen != m.gen {
			return
		}
		switch {
		case err == io.EOF || (err != nil && errors.Is(err, errStale)):
			flush()
			if err == io.EOF && k >= m.idx.Frames() && (m.complete || m.loadErr != nil) {
				m.decodeAt = k
				m.atEnd()
			}
			if err == io.EOF && !m.eos {
				// go-mp3 stopped before the index: a broken frame. Go on
				// after it.
				m.badFrame(gen, k)
			}
			return
		case err != nil:
			flush()
			browser.Warn("MP3 frame " + strconv.Itoa(k) + " cannot be decoded (" + err.Error() + "): played as silence")
			m.badFrame(gen, k)
			return
		case len(pcm) != spf*4:
			flush()
			m.badFrame(gen, k)
			return
		}
		m.badRun = 0
		audio.Deinterleave(pcm, left[n*spf:], right[n*spf:])
		if m.peaks != nil && m.peaks.Add(m.idx.Time(k), audio.Peak(pcm)) && k%16 == 0 {
			go m.opts.Peaks(m.peaks.Bytes())
		}
		n++
		k++
		m.decodeAt = k
		if n == want {
			flush()
		}
	}
}

// badFrame plays frame k as silence and restarts decoding after it.
// Called with mu held.
func (m *MP3) badFrame(gen, k int) {
	m.badRun++
	if m.badRun > maxBadFrames {
		m.fail(errors.New("the MP3 file is corrupt from " + audio.Clock(m.idx.Time(k-m.badRun+1)) + " on"))
		return
	}
	spf := m.idx.FrameSamples()
	silence := make([]float32, spf)
	m.push(gen, k, k+1, silence, silence)
	m.decodeAt = k + 1
	if k+1 >= m.idx.Frames() && (m.complete || m.loadErr != nil) {
		m.atEnd()
	}
	m.signal()
}

// atEnd notes that the decoder has reached the end of the stream: a seek
// there has settled, and playing there is the end. Called with mu held.
func (m *MP3) atEnd() {
	m.eos = true
	if m.seeking {
		m.seeking = false
		m.emit(Seeked)
	}
	if !m.paused && m.tl.Position(m.now()) >= m.tl.Until && len(m.queue) == 0 {
		m.finish()
	}
	m.signal()
}

// open starts a decoder that produces frame k next: it starts a few
// frames early, as the bit reservoir needs, and drops those. Called with
// mu held; it waits for the frames to arrive.
func (m *MP3) open(gen, k int) (*mp3.Decoder, int, error) {
	loading := func() bool { return gen == m.gen && m.err == nil && !m.complete && m.loadErr == nil }
	for loading() && m.idx.Frames() == 0 {
		m.wait()
	}
	if gen == m.gen && m.pending >= 0 && m.idx.SampleRate() > 0 {
		// A start or seek from before the rate was known: its frame now.
		k, m.pending = m.idx.FrameAt(m.pending), -1
		m.decodeAt = k
	}
	for loading() && m.idx.Frames() <= k {
		m.wait()
	}
	if gen != m.gen || m.err != nil {
		return nil, k, errStale
	}
	if k >= m.idx.Frames() { // at or past the end
		m.decodeAt = k
		m.atEnd()
		return nil, k, errStale
	}
	for j := m.idx.Start(k); ; j++ {
		r := &reader{m: m, gen: gen, off: m.idx.Offset(j)}
		m.mu.Unlock()
		dec, err := mp3.NewDecoder(r)
		for i := j; err == nil && i < k; i++ {
			_, err = dec.Frame()
		}
		m.mu.Lock()
		switch {
		case gen != m.gen || errors.Is(err, errStale):
			return nil, k, errStale
		case err == nil:
			return dec, k, nil
		case j == k:
			// The frame itself does not decode: silence, and on after it.
			m.badFrame(gen, k)
			return nil, k, errStale
		}
		// A broken frame among the ones before: start after it.
	}
}

// push adds decoded audio for frames [from, to) to the queue and plays it
// when playing. Called with mu held.
func (m *MP3) push(gen, from, to int, left, right []float32) {
	if gen != m.gen || len(left) == 0 {
		return
	}
	rate := m.idx.SampleRate()
	buf := js.Global().Get("AudioBuffer").New(map[string]any{
		"length": len(left), "numberOfChannels": 2, "sampleRate": rate,
	})
	m.copyToChannel(buf, left, 0)
	m.copyToChannel(buf, right, 1)
	c := &chunk{start: m.idx.Time(from), end: m.idx.Time(to), buf: buf}
	if c.end <= m.position() {
		return // behind the playhead already
	}
	m.queue = append(m.queue, c)
	if m.seeking && c.end > m.tl.Pos {
		m.seeking = false
		m.emit(Seeked)
	}
	if !m.paused && !m.seeking && m.ctx.Truthy() {
		if now := m.now(); m.tl.Position(now) < m.tl.Until {
			m.schedule(c) // playing: on after the chunk before
		} else if !m.rebuffer || c.end-m.position() >= cushion || m.eos {
			// Nothing is playing (a start, a seek, a stall): the clock
			// starts again with what is decoded; after a stall, once a
			// cushion of it is.
			m.startOutput()
		}
	}
	m.signal()
}

// copyToChannel copies samples into an AudioBuffer channel through a
// reused Float32Array.
func (m *MP3) copyToChannel(buf js.Value, samples []float32, ch int) {
	if !m.scratch.Truthy() || m.scratch.Get("length").Int() < len(samples) {
		m.scratch = js.Global().Get("Float32Array").New(max(len(samples), 48000))
	}
	dst := m.scratch.Call("subarray", 0, len(samples))
	bytes := js.Global().Get("Uint8Array").New(dst.Get("buffer"), 0, 4*len(samples))
	js.CopyBytesToJS(bytes, unsafe.Slice((*byte)(unsafe.Pointer(&samples[0])), 4*len(samples)))
	buf.Call("copyToChannel", dst, ch)
}

// --- Output ------------------------------------------------------------

// now is the audio clock. Called with mu held.
func (m *MP3) now() float64 {
	if !m.ctx.Truthy() {
		return 0
	}
	return m.ctx.Get("currentTime").Float()
}

// position is where the media is. Called with mu held.
func (m *MP3) position() float64 {
	p := m.tl.Position(m.now())
	if d := m.duration(); d > 0 {
		p = min(p, d)
	}
	return max(p, 0)
}

// schedule plays a chunk at its place on the timeline. Called with mu
// held.
func (m *MP3) schedule(c *chunk) {
	when, offset, ok := m.tl.Place(c.start, c.end)
	if !ok {
		return
	}
	src := m.ctx.Call("createBufferSource")
	src.Set("buffer", c.buf)
	src.Get("playbackRate").Set("value", m.tl.Rate)
	src.Call("connect", m.gain)
	src.Set("onended", m.onended)
	src.Call("start", when, offset)
	m.sources = append(m.sources, src)
}

// startOutput plays the queue from the position on. Called with mu held.
func (m *MP3) startOutput() {
	m.tl.Start(m.now(), lead)
	m.dropPlayed()
	for _, c := range m.queue {
		m.schedule(c)
	}
	if m.tl.Until > m.tl.Pos {
		m.stalled, m.rebuffer = 0, false
		if m.waiting {
			m.waiting = false
			m.emit(Playing)
		}
	}
}

// stopOutput silences what is scheduled. Called with mu held.
func (m *MP3) stopOutput() {
	for _, s := range m.sources {
		s.Set("onended", js.Null())
		s.Call("stop")
		s.Call("disconnect")
	}
	m.sources = m.sources[:0]
}

// dropPlayed forgets chunks that lie wholly before the position. Called
// with mu held.
func (m *MP3) dropPlayed() {
	p := m.position()
	i := 0
	for i < len(m.queue) && m.queue[i].end <= p {
		i++
	}
	m.queue = m.queue[i:]
}

// applyGain sets the output volume. Called with mu held.
func (m *MP3) applyGain() {
	if m.gain.Truthy() {
		v := m.volume
		if m.muted {
			v = 0
		}
		m.gain.Get("gain").Set("value", v)
	}
}

// UseContext makes the player play into ctx, an AudioContext or an
// OfflineAudioContext, instead of one of its own.
func (m *MP3) UseContext(ctx js.Value) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setContext(ctx)
	m.offline = ctx.InstanceOf(js.Global().Get("OfflineAudioContext"))
}

func (m *MP3) setContext(ctx js.Value) {
	m.ctx = ctx
	m.gain = ctx.Call("createGain")
	m.gain.Call("connect", ctx.Get("destination"))
	m.applyGain()
}

// ensureContext makes the AudioContext, at the file's sample rate when it
// is known so that nothing resamples chunk by chunk. Called with mu held.
func (m *MP3) ensureContext() error {
	if m.ctx.Truthy() {
		return nil
	}
	ac := js.Global().Get("AudioContext")
	if !ac.Truthy() {
		ac = js.Global().Get("webkitAudioContext")
	}
	opts := map[string]any{} // latencyHint "interactive", the default: seeks are heard at once
	if r := m.idx.SampleRate(); r > 0 {
		opts["sampleRate"] = r
	}
	ctx, err := construct(ac, js.ValueOf(opts))
	if err != nil {
		ctx, err = construct(ac)
	}
	if err != nil {
		return errors.New("this browser cannot play audio (" + err.Error() + ")")
	}
	m.setContext(ctx)
	return nil
}

func construct(class js.Value, args ...any) (v js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("constructor failed")
			if je, ok := r.(js.Error); ok {
				err = errors.New(je.Value.Get("message").String())
			}
		}
	}()
	return class.New(args...), nil
}

// check looks at the clock: reports the position, notices stalls and the
// end, forgets what was played, and lets the decoder refill.
func (m *MP3) check() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.paused || m.err != nil || !m.ctx.Truthy() {
		return
	}
	now := m.now()
	m.dropPlayed()
	m.signal() // the decoder may want to refill
	if m.tl.Stalled(now) {
		if m.eos && len(m.queue) == 0 {
			m.finish()
			return
		}
		t := browser.Uptime()
		if m.stalled == 0 {
			m.stalled = t
			// Audio ran out in mid-play (not a seek's or a start's wait).
			m.rebuffer = !m.seeking && m.tl.Until > m.tl.Pos
		}
		if !m.waiting && t-m.stalled >= waitingAfter {
			m.waiting = true
			m.emit(Waiting)
		}
	}
	if t := browser.Uptime(); t-m.lastTick >= timeupdateEvery {
		m.lastTick = t
		m.emit(TimeUpdate)
	}
}

// finish is the end of the media: loop, or stop there. Called with mu
// held.
func (m *MP3) finish() {
	if m.opts.Loop {
		m.seek(0)
		return
	}
	m.tl.Stop(m.now())
	m.stopOutput()
	m.paused, m.ended = true, true
	m.suspend()
	m.emit(TimeUpdate, Pause, Ended)
}

// ticker drives check while playing, until a pause or the next Play.
func (m *MP3) ticker(play int) {
	// time.Sleep, not a Ticker: a timer's channel would link time's
	// formatting code into the player (see browser.Uptime).
	for {
		time.Sleep(tick)
		m.mu.Lock()
		stop := m.paused || m.err != nil || play != m.plays
		m.mu.Unlock()
		if stop {
			return
		}
		m.check()
	}
}

func (m *MP3) suspend() {
	if m.ctx.Truthy() && !m.offline {
		if p, err := browser.Call(m.ctx, "suspend"); err == nil {
			p.Call("catch", js.FuncOf(func(js.Value, []js.Value) any { return nil }))
		}
	}
}

// --- Media -------------------------------------------------------------

// Play implements Media. It makes the AudioContext on the first call
// (browsers let a page start sound only after a click or key:
// https://developer.chrome.com/blog/autoplay/#web-audio) and returns an
// error when the browser keeps it suspended.
func (m *MP3) Play() error {
	m.mu.Lock()
	if m.err != nil {
		defer m.mu.Unlock()
		return m.err
	}
	m.wanted = true
	m.startLoad()
	if err := m.ensureContext(); err != nil {
		m.fail(err)
		m.mu.Unlock()
		return err
	}
	ctx, offline := m.ctx, m.offline
	m.mu.Unlock()
	if !offline && ctx.Get("state").String() != "running" {
		if err := resume(ctx); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.paused || m.err != nil {
		return m.err
	}
	if m.ended {
		m.ended = false
		m.seek(0)
	}
	m.paused = false
	m.emit(Play)
	if !m.seeking {
		m.startOutput()
		if m.tl.Until > m.tl.Pos {
			m.emit(Playing)
		}
	}
	m.signal()
	m.plays++
	go m.ticker(m.plays)
	return nil
}

// Preload fetches the start of the file and decodes its first seconds
// before the viewer presses play, so that sound starts at once. Until
// then (or a play or a seek) the player does nothing: call it once the
// page has done its own start-up, which this would slow down.
func (m *MP3) Preload() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.warm = true
	m.startLoad()
	m.signal()
}

// Unlock makes and starts the audio context without playing. Called from
// the viewer's first click or key, it lets later plays start sound, which
// browsers allow only from such a gesture.
func (m *MP3) Unlock() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil || m.ctx.Truthy() || m.ensureContext() != nil {
		return
	}
	if m.paused {
		m.suspend() // no sound to make yet; play resumes it
	}
}

// resumeWait is how long Play waits for the browser to start the audio
// context before taking it as a refusal.
const resumeWait = 500 * time.Millisecond

// resume starts a suspended context. A browser that blocks sound until a
// gesture leaves resume's promise pending: that is a refusal.
func resume(ctx js.Value) error {
	p, err := browser.Call(ctx, "resume")
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		_, err := browser.Await(p)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return err
		}
	case <-after(resumeWait):
	}
	if ctx.Get("state").String() != "running" {
		return &browser.JSError{Name: "NotAllowedError", Message: "the browser allows sound only after a click or a key press"}
	}
	return nil
}

// after is time.After without a channel of time.Time (see ticker).
func after(d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	time.AfterFunc(d, func() { close(ch) })
	return ch
}

// Pause implements Media.
func (m *MP3) Pause() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.paused {
		return
	}
	m.tl.Stop(m.now())
	m.stopOutput()
	m.paused, m.waiting, m.stalled, m.rebuffer = true, false, 0, false
	m.suspend()
	m.signal()
	m.emit(Pause)
}

// Seek implements Media.
func (m *MP3) Seek(s float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seek(s)
}

// seek moves the playhead, reusing what is decoded when it covers the
// target. Called with mu held.
func (m *MP3) seek(s float64) {
	if math.IsNaN(s) || m.err != nil {
		return
	}
	if d := m.duration(); d > 0 {
		s = min(s, d)
	}
	s = max(s, 0)
	m.wanted, m.ended = true, false
	m.startLoad()
	m.stopOutput()
	m.tl.Seek(m.now(), s, lead)
	m.seeking, m.stalled, m.rebuffer = true, 0, false
	m.emit(Seeking)
	if len(m.queue) > 0 && m.queue[0].start <= s && s < m.queue[len(m.queue)-1].end {
		m.dropPlayed()
		m.seeking = false
		m.emit(Seeked)
		if !m.paused {
			m.startOutput()
		}
	} else {
		m.gen++
		m.queue, m.eos, m.badRun, m.pending = nil, false, 0, -1
		m.decodeAt = m.idx.FrameAt(s)
		if m.idx.SampleRate() == 0 {
			m.pending = s // no frame yet: which one, open decides
		}
		if m.complete && m.decodeAt >= m.idx.Frames() {
			m.eos = true // at the end: nothing to decode
			m.seeking = false
			m.emit(Seeked)
			if !m.paused {
				m.finish()
			}
		}
	}
	m.signal()
}

// Position implements Media: the audio clock's position.
func (m *MP3) Position() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.position()
}

// Duration implements Media: from the file once it has arrived, the
// server's until then.
func (m *MP3) Duration() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.duration()
}

// duration is Duration, called with mu held.
func (m *MP3) duration() float64 {
	if m.complete || (m.loadErr != nil && m.idx.Frames() > 0) {
		return m.idx.Duration()
	}
	if m.opts.Duration > 0 {
		return m.opts.Duration
	}
	return math.NaN()
}

// Paused implements Media.
func (m *MP3) Paused() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paused
}

// Ended implements Media.
func (m *MP3) Ended() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ended
}

// Buffered implements Media: what has arrived.
func (m *MP3) Buffered() []Range {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.idx.Frames() == 0 {
		return nil
	}
	return []Range{{0, m.idx.Duration()}}
}

// Rate implements Media.
func (m *MP3) Rate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tl.Rate
}

// SetRate implements Media, from 0.25× to 4×.
func (m *MP3) SetRate(r float64) {
	if math.IsNaN(r) {
		return
	}
	r = min(max(r, 0.25), 4)
	m.mu.Lock()
	defer m.mu.Unlock()
	if r == m.tl.Rate {
		return
	}
	if m.paused || !m.ctx.Truthy() {
		m.tl.Rate = r
	} else {
		m.stopOutput()
		m.tl.SetRate(m.now(), r, lead)
		for _, c := range m.queue {
			m.schedule(c)
		}
	}
	m.emit(RateChange)
}

// Volume implements Media.
func (m *MP3) Volume() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.volume
}

// SetVolume implements Media.
func (m *MP3) SetVolume(v float64) {
	if math.IsNaN(v) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.volume = min(max(v, 0), 1)
	m.applyGain()
	m.emit(VolumeChange)
}

// Muted implements Media.
func (m *MP3) Muted() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.muted
}

// SetMuted implements Media.
func (m *MP3) SetMuted(mu bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.muted = mu
	m.applyGain()
	m.emit(VolumeChange)
}

// Err implements Media.
func (m *MP3) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// On implements Media.
func (m *MP3) On(f func(Event)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subs = append(m.subs, f)
}
