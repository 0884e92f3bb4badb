package library

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/pulsehq/pulse/server/pulse"
)

// Light structural checks of the container formats Pulse accepts. They read
// only headers (a few hundred bytes, wherever the boxes or elements are), so
// a 2 GiB upload is checked in milliseconds; they do not decode audio or
// video. What they catch: a file whose first bytes look right but whose
// structure is cut short, inconsistent or of a kind browsers cannot play
// (a HEIF image in an MP4-like box tree, a Matroska file, an Ogg stream of
// an unknown codec).

// Probe returns the media type of the size bytes of r, read from its first
// bytes (Sniff), after checking the structure of MP4, M4A, WebM and Ogg
// files. Errors are *pulse.Error values: EUnsupported for a type Pulse does
// not play, EInvalid for a damaged file. MP3 files are checked by decoding
// them (see Import), not here.
func Probe(r io.ReaderAt, size int64) (Kind, error) {
	head := make([]byte, 4096)
	n, err := r.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return Kind{}, fmt.Errorf("library: read file: %w", err)
	}
	kind, err := Sniff(head[:n])
	if err != nil {
		return Kind{}, err
	}
	switch kind.Ext {
	case ".mp4", ".m4a":
		return checkMP4(r, size)
	case ".webm":
		return kind, checkWebM(r, size)
	case ".ogg":
		return checkOgg(r, size)
	}
	return kind, nil
}

// damaged is the error of a file whose structure is broken.
func damaged(format, what string, args ...any) error {
	return pulse.Errorf(pulse.EInvalid, "this %s file is damaged or incomplete: %s", format, fmt.Sprintf(what, args...))
}

// readAt reads len(b) bytes at off, or fails as a damaged file: the callers
// have checked that the bytes are inside the file, so a short read means
// it changed or the disk failed.
func readAt(r io.ReaderAt, b []byte, off int64) error {
	if _, err := r.ReadAt(b, off); err != nil {
		return fmt.Errorf("library: read file at byte %d: %w", off, err)
	}
	return nil
}

// ---- MP4 and M4A: ISO base media file format (ISO/IEC 14496-12) ----

// box is an ISO-BMFF box: its type, where its header starts, where its
// payload starts and where it ends.
type box struct {
	typ              string
	start, data, end int64
}

// maxBoxes bounds how many boxes are read at one level, so that a file of
// millions of empty boxes cannot keep the server busy. A fragmented MP4 of
// ten hours in one-second fragments has 72,000 top-level boxes.
const maxBoxes = 1 << 20

// imageBrands are ftyp brands of HEIF and AVIF still images and image
// sequences: box trees like MP4's that browsers do not play as media.
var imageBrands = []string{"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "miaf", "avif", "avis", "avio"}

// readBox reads the box header at off, which must end by end (the end of
// the file or of the parent box). A size of 0 means "to the end"; a size
// of 1 means a 64-bit size follows the type.
func readBox(r io.ReaderAt, off, end int64) (box, error) {
	if end-off < 8 {
		return box{}, damaged("MP4", "%d stray bytes at byte %d, too few for a box", end-off, off)
	}
	var h [16]byte
	if err := readAt(r, h[:8], off); err != nil {
		return box{}, err
	}
	b := box{typ: string(h[4:8]), start: off}
	size, hdr := int64(binary.BigEndian.Uint32(h[:4])), int64(8)
	switch size {
	case 0:
		size = end - off
	case 1:
		if end-off < 16 {
			return box{}, damaged("MP4", "box %q at byte %d is cut short in its 64-bit size", b.typ, off)
		}
		if err := readAt(r, h[8:16], off+8); err != nil {
			return box{}, err
		}
		large := binary.BigEndian.Uint64(h[8:16])
		if large > math.MaxInt64 {
			return box{}, damaged("MP4", "box %q at byte %d has an impossible size", b.typ, off)
		}
		size, hdr = int64(large), 16
	}
	if b.typ == "uuid" {
		hdr += 16 // the extended type
	}
	if size < hdr {
		return box{}, damaged("MP4", "box %q at byte %d has an impossible size of %d bytes", b.typ, off, size)
	}
	if size > end-off {
		return box{}, damaged("MP4", "box %q at byte %d claims %d bytes, but only %d follow", b.typ, off, size, end-off)
	}
	b.data, b.end = off+hdr, off+size
	return b, nil
}

// walkBoxes calls visit for each box from off to end, which the boxes must
// fill exactly.
func walkBoxes(r io.ReaderAt, off, end int64, visit func(box) error) error {
	for n := 0; off < end; n++ {
		if n == maxBoxes {
			return damaged("MP4", "more than %d boxes in a row", maxBoxes)
		}
		b, err := readBox(r, off, end)
		if err != nil {
			return err
		}
		if err := visit(b); err != nil {
			return err
		}
		off = b.end
	}
	return nil
}

// checkMP4 walks the top-level boxes of an MP4 or M4A file: an ftyp first
// whose brands are not only those of images, then a moov with at least one
// audio or video track, all sizes consistent with the file.
func checkMP4(r io.ReaderAt, size int64) (Kind, error) {
	var (
		kind     Kind
		handlers []string
		moov     bool
		first    = true
	)
	err := walkBoxes(r, 0, size, func(b box) error {
		for _, c := range []byte(b.typ) {
			if c < 0x20 || c > 0x7e {
				return damaged("MP4", "the box at byte %d has no valid type (%q)", b.start, b.typ)
			}
		}
		switch {
		case first:
			first = false
			if b.typ != "ftyp" {
				return damaged("MP4", "it must start with an ftyp box, not %q", b.typ)
			}
			var err error
			kind, err = readFtyp(r, b)
			return err
		case b.typ == "moov":
			if moov {
				return damaged("MP4", "it has two moov boxes")
			}
			moov = true
			var err error
			handlers, err = trackHandlers(r, b)
			return err
		}
		return nil
	})
	if err != nil {
		return Kind{}, err
	}
	if !moov {
		return Kind{}, damaged("MP4", "it has no moov box (the index of its tracks): the file may be cut short, or still being written")
	}
	if !slices.Contains(handlers, "soun") && !slices.Contains(handlers, "vide") {
		if len(handlers) == 0 {
			return Kind{}, damaged("MP4", "it has no tracks")
		}
		return Kind{}, pulse.Errorf(pulse.EUnsupported, "this MP4 file has no audio or video track (its tracks are of kinds %s): Pulse plays audio and video",
			strings.Join(quoteAll(handlers), ", "))
	}
	return kind, nil
}

// readFtyp reads the brands of an ftyp box: its major brand decides
// between M4A (audio) and MP4, and image brands are refused.
func readFtyp(r io.ReaderAt, b box) (Kind, error) {
	n := b.end - b.data
	if n < 8 || (n-8)%4 != 0 {
		return Kind{}, damaged("MP4", "its ftyp box is %d bytes long: it must hold a major brand, a version and whole compatible brands", n)
	}
	n = min(n, 8+4*64) // the first 64 compatible brands are plenty
	p := make([]byte, n)
	if err := readAt(r, p, b.data); err != nil {
		return Kind{}, err
	}
	major := string(p[:4])
	var compatible []string
	for i := 8; i+4 <= len(p); i += 4 {
		compatible = append(compatible, string(p[i:i+4]))
	}
	onlyImages := len(compatible) > 0
	for _, c := range compatible {
		if c != "\x00\x00\x00\x00" && !slices.Contains(imageBrands, c) {
			onlyImages = false
		}
	}
	if slices.Contains(imageBrands, major) || onlyImages {
		return Kind{}, pulse.Errorf(pulse.EUnsupported, "this is an image (HEIF or AVIF, brand %q), not audio or video: Pulse plays MP3, M4A, MP4, WebM and Ogg", strings.TrimSpace(major))
	}
	if major == "M4A " || major == "M4B " || major == "M4P " {
		return Kind{"audio/mp4", ".m4a"}, nil
	}
	return Kind{"video/mp4", ".mp4"}, nil
}

// trackHandlers returns the handler type of each track in moov (moov →
// trak → mdia → hdlr): "soun" for audio, "vide" for video, others for
// subtitles, metadata or images.
func trackHandlers(r io.ReaderAt, moov box) ([]string, error) {
	var handlers []string
	// child returns the first child box of the given type, or ok false.
	child := func(parent box, typ string) (found box, ok bool, err error) {
		err = walkBoxes(r, parent.data, parent.end, func(b box) error {
			if !ok && b.typ == typ {
				found, ok = b, true
			}
			return nil
		})
		return found, ok, err
	}
	err := walkBoxes(r, moov.data, moov.end, func(trak box) error {
		if trak.typ != "trak" {
			return nil
		}
		mdia, ok, err := child(trak, "mdia")
		if err != nil {
			return err
		}
		if !ok {
			return damaged("MP4", "the track at byte %d has no mdia box", trak.start)
		}
		hdlr, ok, err := child(mdia, "hdlr")
		if err != nil {
			return err
		}
		// A FullBox: version and flags (4 bytes), pre_defined (4), then
		// the handler type.
		if !ok || hdlr.end-hdlr.data < 12 {
			return damaged("MP4", "the track at byte %d has no handler (hdlr) box saying what it holds", trak.start)
		}
		var h [12]byte
		if err := readAt(r, h[:], hdlr.data); err != nil {
			return err
		}
		handlers = append(handlers, string(h[8:12]))
		return nil
	})
	return handlers, err
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// ---- WebM: EBML (RFC 8794) with the Matroska/WebM schema ----

// EBML element IDs, written with their length marker as in the specs.
const (
	idEBML               = 0x1A45DFA3
	idEBMLReadVersion    = 0x42F7
	idDocType            = 0x4282
	idVoid               = 0xEC
	idCRC32              = 0xBF
	idSegment            = 0x18538067
	maxEBMLHeader        = 4096 // a real header is about 40 bytes
	maxDocType           = 64
	ebmlUnknownSizeValue = -1
)

// segmentChildren are the elements that may come first in a Segment.
var segmentChildren = []uint64{
	0x114D9B74, // SeekHead
	0x1549A966, // Info
	0x1654AE6B, // Tracks
	0x1F43B675, // Cluster
	0x1C53BB6B, // Cues
	0x1941A469, // Attachments
	0x1043A770, // Chapters
	0x1254C367, // Tags
	idVoid, idCRC32,
}

// element is an EBML element: its ID, where its header starts, where its
// payload starts, and its size (ebmlUnknownSizeValue when unknown).
type element struct {
	id          uint64
	start, data int64
	size        int64
}

// readVint reads a variable-length integer of at most maxLen bytes at off:
// an element ID (keepMarker) or a size, whose all-ones value means
// "unknown".
func readVint(r io.ReaderAt, off, end int64, maxLen int, keepMarker bool) (v uint64, n int, unknown bool, err error) {
	if off >= end {
		return 0, 0, false, damaged("WebM", "it ends at byte %d in the middle of an element header", off)
	}
	var b [8]byte
	if err := readAt(r, b[:1], off); err != nil {
		return 0, 0, false, err
	}
	n = 1
	for n <= 8 && b[0]&(0x80>>(n-1)) == 0 {
		n++
	}
	if n > maxLen {
		return 0, 0, false, damaged("WebM", "an invalid element header at byte %d", off)
	}
	if off+int64(n) > end {
		return 0, 0, false, damaged("WebM", "it ends at byte %d in the middle of an element header", end)
	}
	if n > 1 {
		if err := readAt(r, b[1:n], off+1); err != nil {
			return 0, 0, false, err
		}
	}
	marker := byte(0x80) >> (n - 1)
	v = uint64(b[0])
	if !keepMarker {
		v &^= uint64(marker)
	}
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	if !keepMarker {
		unknown = v == 1<<(7*n)-1
	}
	return v, n, unknown, nil
}

// readElement reads the element header at off, before end.
func readElement(r io.ReaderAt, off, end int64) (element, error) {
	id, idLen, _, err := readVint(r, off, end, 4, true)
	if err != nil {
		return element{}, err
	}
	size, sizeLen, unknown, err := readVint(r, off+int64(idLen), end, 8, false)
	if err != nil {
		return element{}, err
	}
	e := element{id: id, start: off, data: off + int64(idLen+sizeLen), size: ebmlUnknownSizeValue}
	if !unknown {
		if size > math.MaxInt64 {
			return element{}, damaged("WebM", "an element at byte %d has an impossible size", off)
		}
		e.size = int64(size)
	}
	return e, nil
}

// checkWebM reads the EBML header (its DocType must be "webm") and
// checks that a Segment follows it.
func checkWebM(r io.ReaderAt, size int64) error {
	hdr, err := readElement(r, 0, size)
	if err != nil {
		return err
	}
	if hdr.id != idEBML || hdr.size == ebmlUnknownSizeValue || hdr.size > maxEBMLHeader {
		return damaged("WebM", "its EBML header has no valid size")
	}
	end := hdr.data + hdr.size
	if end > size {
		return damaged("WebM", "its EBML header claims %d bytes, but the file ends before", hdr.size)
	}
	var docType *string
	for off := hdr.data; off < end; {
		e, err := readElement(r, off, end)
		if err != nil {
			return err
		}
		if e.size == ebmlUnknownSizeValue || e.data+e.size > end {
			return damaged("WebM", "an element of its EBML header at byte %d overruns the header", off)
		}
		switch e.id {
		case idDocType:
			if e.size > maxDocType {
				return damaged("WebM", "its DocType is %d bytes long", e.size)
			}
			b := make([]byte, e.size)
			if err := readAt(r, b, e.data); err != nil {
				return err
			}
			s := string(bytes.TrimRight(b, "\x00"))
			docType = &s
		case idEBMLReadVersion:
			if e.size < 1 || e.size > 8 {
				return damaged("WebM", "its EBMLReadVersion is %d bytes long", e.size)
			}
			b := make([]byte, e.size)
			if err := readAt(r, b, e.data); err != nil {
				return err
			}
			v := uint64(0)
			for _, c := range b {
				v = v<<8 | uint64(c)
			}
			if v != 1 {
				return pulse.Errorf(pulse.EUnsupported, "this file needs EBML reader version %d: WebM uses version 1", v)
			}
		}
		off = e.data + e.size
	}
	switch {
	case docType == nil:
		return damaged("WebM", "its EBML header has no DocType")
	case *docType == "matroska":
		return pulse.Errorf(pulse.EUnsupported, "this is a Matroska (MKV) file: Pulse plays WebM, MP4, M4A, MP3 and Ogg")
	case *docType != "webm":
		return pulse.Errorf(pulse.EUnsupported, "this is an EBML file of type %q, not WebM: Pulse plays WebM, MP4, M4A, MP3 and Ogg", strings.ToValidUTF8(*docType, "?"))
	}

	// The Segment, which holds everything else, after any Void elements.
	off := end
	for {
		if off >= size {
			return damaged("WebM", "it ends after its EBML header, without a Segment")
		}
		e, err := readElement(r, off, size)
		if err != nil {
			return err
		}
		if e.id == idVoid && e.size != ebmlUnknownSizeValue {
			off = e.data + e.size
			continue
		}
		if e.id != idSegment {
			return damaged("WebM", "a Segment must follow its EBML header; found element 0x%X at byte %d", e.id, off)
		}
		segEnd := size
		if e.size != ebmlUnknownSizeValue { // live recordings leave the size unknown
			if e.data+e.size > size {
				return damaged("WebM", "its Segment claims %d bytes, but only %d follow", e.size, size-e.data)
			}
			segEnd = e.data + e.size
		}
		if e.data >= segEnd {
			return damaged("WebM", "its Segment is empty")
		}
		child, err := readElement(r, e.data, segEnd)
		if err != nil {
			return err
		}
		if !slices.Contains(segmentChildren, child.id) {
			return damaged("WebM", "its Segment starts with an unknown element 0x%X", child.id)
		}
		return nil
	}
}

// ---- Ogg (RFC 3533) ----

// oggCRC is the CRC-32 of Ogg pages: polynomial 0x04c11db7, not reflected,
// initial value 0, no final XOR (RFC 3533 §6).
var oggCRC = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

// OggCRC returns the checksum of an Ogg page whose CRC field is zero.
func OggCRC(page []byte) uint32 {
	var crc uint32
	for _, b := range page {
		crc = crc<<8 ^ oggCRC[byte(crc>>24)^b]
	}
	return crc
}

// oggCodecs are the first bytes of the first packet of the streams Pulse
// plays, with the media type of a file that starts with them.
var oggCodecs = []struct {
	magic string
	kind  Kind
}{
	{"OpusHead", Kind{"audio/ogg", ".ogg"}},
	{"\x01vorbis", Kind{"audio/ogg", ".ogg"}},
	{"\x7fFLAC", Kind{"audio/ogg", ".ogg"}},
	{"\x80theora", Kind{"video/ogg", ".ogv"}},
}

// checkOgg checks the first page of an Ogg file: capture pattern,
// version 0, beginning of a stream, a correct CRC, and a first packet of
// a codec Pulse plays.
func checkOgg(r io.ReaderAt, size int64) (Kind, error) {
	const hdrLen = 27
	if size < hdrLen {
		return Kind{}, damaged("Ogg", "it is %d bytes long, shorter than one page header", size)
	}
	var h [hdrLen + 255]byte
	if err := readAt(r, h[:hdrLen], 0); err != nil {
		return Kind{}, err
	}
	switch {
	case string(h[:4]) != "OggS":
		return Kind{}, damaged("Ogg", "its first page has no OggS capture pattern")
	case h[4] != 0:
		return Kind{}, damaged("Ogg", "its first page has version %d; Ogg has only version 0", h[4])
	case h[5]&0x02 == 0 || h[5]&0x01 != 0:
		return Kind{}, damaged("Ogg", "its first page does not begin a stream: the file may be cut from another")
	}
	nseg := int64(h[26])
	if hdrLen+nseg > size {
		return Kind{}, damaged("Ogg", "its first page is cut short")
	}
	if err := readAt(r, h[hdrLen:hdrLen+nseg], hdrLen); err != nil {
		return Kind{}, err
	}
	var body, first int64
	firstDone := false
	for _, l := range h[hdrLen : hdrLen+nseg] {
		body += int64(l)
		if !firstDone {
			first += int64(l)
			firstDone = l < 255
		}
	}
	pageLen := hdrLen + nseg + body
	if pageLen > size {
		return Kind{}, damaged("Ogg", "its first page claims %d bytes, but the file has %d", pageLen, size)
	}
	page := make([]byte, pageLen)
	if err := readAt(r, page, 0); err != nil {
		return Kind{}, err
	}
	want := binary.LittleEndian.Uint32(page[22:26])
	clear(page[22:26])
	if got := OggCRC(page); got != want {
		return Kind{}, damaged("Ogg", "the CRC of its first page is wrong (it says 0x%08x, the page sums to 0x%08x)", want, got)
	}
	packet := page[hdrLen+nseg : hdrLen+nseg+first]
	for _, c := range oggCodecs {
		if bytes.HasPrefix(packet, []byte(c.magic)) {
			return c.kind, nil
		}
	}
	return Kind{}, pulse.Errorf(pulse.EUnsupported, "this Ogg file holds a codec Pulse does not know (its first packet starts %q): Pulse plays Ogg Opus, Vorbis, FLAC and Theora",
		strings.ToValidUTF8(string(packet[:min(len(packet), 8)]), "?"))
}
