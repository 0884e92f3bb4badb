package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// sizeBreakdown says where the player's bytes go, and which of them the
// empty Go wasm has too: the code of each package (function bodies, from
// builds with the wasm "name" section, which -s leaves out) and the data
// segments. raw is the size of the player.wasm built with -s.
func (b *bench) sizeBreakdown(ctx context.Context, raw float64) error {
	player, err := b.namedWasm(ctx, "./wasm/cmd/player", "player-names.wasm")
	if err != nil {
		return err
	}
	empty, err := b.namedWasm(ctx, "./scripts/bench/emptywasm", "empty-names.wasm")
	if err != nil {
		return err
	}
	groups := func(w wasmSizes) (map[string]int, int) {
		g, code := map[string]int{}, 0
		for name, n := range w.code {
			g[sizeGroup(name)] += n
			code += n
		}
		return g, code
	}
	pg, pcode := groups(player)
	eg, ecode := groups(empty)
	own := 0
	for g, n := range pg {
		if strings.HasPrefix(g, "Pulse's ") {
			own += n
		}
	}
	type share struct {
		name string
		n    int
	}
	largest := func(m map[string]int, n int) string {
		var top []share
		for g, v := range m {
			if v > 0 {
				top = append(top, share{g, v})
			}
		}
		slices.SortFunc(top, func(a, b share) int { return cmp.Or(b.n-a.n, strings.Compare(a.name, b.name)) })
		var parts []string
		for _, s := range top[:min(len(top), n)] {
			parts = append(parts, s.name+" "+fmtKB(float64(s.n)))
		}
		return strings.Join(parts, ", ")
	}
	added := map[string]int{}
	for g, n := range pg {
		added[g] = n - eg[g]
	}
	b.rep.note("size", "Where the raw bytes go (before compression; function bodies per package, from builds of the same code with their "+
		"wasm name section): the %s player.wasm is %s of code and %s of data segments (type descriptors, strings, tables, pclntab); "+
		"the empty Go wasm has %s of code and %s of data. Largest code: %s. What the player adds to the empty Go wasm: %s of code, "+
		"%s of data; the largest additions: %s. Pulse's own packages are %s of code in all.",
		fmtKB(raw), fmtKB(float64(pcode)), fmtKB(float64(player.data)), fmtKB(float64(ecode)), fmtKB(float64(empty.data)),
		largest(pg, 6), fmtKB(float64(pcode-ecode)), fmtKB(float64(player.data-empty.data)), largest(added, 10), fmtKB(float64(own)))
	return nil
}

// namedWasm builds a command for js/wasm without -s, so that it keeps its
// function names, and reads its sizes.
func (b *bench) namedWasm(ctx context.Context, pkg, name string) (wasmSizes, error) {
	out := b.tmpPath(name)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return wasmSizes{}, fmt.Errorf("build %s with function names: %w\n%s", pkg, err, msg)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return wasmSizes{}, err
	}
	w, err := parseWasm(bin)
	if err != nil {
		return wasmSizes{}, fmt.Errorf("read %s: %w", out, err)
	}
	return w, nil
}

// sizeGroup names the part of the player a function belongs to: its
// package, with go-mp3's packages and the runtime's each counted
// together. The linker's names spell a package path with "_" for
// "/" (and for other characters that are not letters, digits or dots):
// "github.com_hajimehoshi_go_mp3_internal_frame.__Frame_.Decode".
func sizeGroup(fn string) string {
	pkg, after, _ := strings.Cut(fn, ".")
	if tld, rest, ok := strings.Cut(after, "_"); ok && !strings.Contains(pkg, "_") && slices.Contains(tlds, tld) {
		// A domain first (github.com_…): the package ends at the first
		// dot after it.
		if k := strings.IndexByte(rest, '.'); k >= 0 {
			pkg = fn[:len(fn)-len(rest)+k]
		}
	}
	switch {
	case strings.HasPrefix(pkg, "github.com_hajimehoshi_go_mp3"):
		return "go-mp3"
	case strings.HasPrefix(pkg, "github.com_pulsehq_pulse_"):
		return "Pulse's " + strings.ReplaceAll(strings.TrimPrefix(pkg, "github.com_pulsehq_pulse_"), "_", "/")
	case pkg == "runtime" || strings.HasPrefix(pkg, "runtime_") || strings.HasPrefix(pkg, "internal_runtime_"):
		return "runtime"
	case pkg == "type_" || pkg == "go_":
		return "generated (type equality, wrappers)"
	}
	return strings.ReplaceAll(pkg, "_", "/")
}

// tlds end the domains of the module paths the player links.
var tlds = []string{"com", "org", "net", "io", "co", "in", "dev"}

// wasmSizes is what parseWasm reads from a wasm binary.
type wasmSizes struct {
	code map[string]int // function name → body bytes
	data int            // bytes of the data section
}

// parseWasm reads the sizes of a WebAssembly binary's function bodies by
// name, and of its data (https://webassembly.github.io/spec/core/binary/).
func parseWasm(bin []byte) (wasmSizes, error) {
	w := wasmSizes{code: map[string]int{}}
	if len(bin) < 8 || !bytes.Equal(bin[:4], []byte("\x00asm")) {
		return w, errors.New("not a wasm binary")
	}
	r := &wasmReader{b: bin[8:]}
	imported := 0
	var bodies []int
	names := map[int]string{}
	for len(r.b) > 0 {
		id := r.byte()
		n := int(r.uleb())
		if r.err != nil || n > len(r.b) {
			return w, errors.New("truncated section")
		}
		sec := &wasmReader{b: r.b[:n]}
		r.b = r.b[n:]
		switch id {
		case 2: // imports
			for range sec.uleb() {
				sec.name()
				sec.name()
				switch sec.byte() {
				case 0:
					sec.uleb()
					imported++
				case 1:
					sec.byte()
					sec.limits()
				case 2:
					sec.limits()
				case 3:
					sec.byte()
					sec.byte()
				}
			}
		case 10: // code
			for range sec.uleb() {
				size := int(sec.uleb())
				bodies = append(bodies, size)
				sec.skip(size)
			}
		case 11: // data
			w.data = n
		case 0: // custom
			if sec.name() != "name" {
				continue
			}
			for len(sec.b) > 0 && sec.err == nil {
				sub := sec.byte()
				size := int(sec.uleb())
				if sub != 1 {
					sec.skip(size)
					continue
				}
				for range sec.uleb() {
					idx := int(sec.uleb())
					names[idx] = sec.name()
				}
			}
		}
		if sec.err != nil {
			return w, fmt.Errorf("section %d: %w", id, sec.err)
		}
	}
	if len(names) == 0 {
		return w, errors.New("no function names (built with -s?)")
	}
	for i, n := range bodies {
		name, ok := names[imported+i]
		if !ok {
			name = "?"
		}
		w.code[name] += n
	}
	return w, nil
}

type wasmReader struct {
	b   []byte
	err error
}

func (r *wasmReader) byte() byte {
	if len(r.b) == 0 {
		r.err = errors.New("unexpected end")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *wasmReader) uleb() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("bad LEB128")
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wasmReader) skip(n int) {
	if n > len(r.b) {
		r.err = errors.New("unexpected end")
		n = len(r.b)
	}
	r.b = r.b[n:]
}

func (r *wasmReader) name() string {
	n := int(r.uleb())
	if n > len(r.b) {
		r.err = errors.New("unexpected end")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *wasmReader) limits() {
	if r.byte()&1 != 0 {
		r.uleb()
	}
	r.uleb()
}
