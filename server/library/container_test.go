package library

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/pulse"
)

// ---- builders of minimal files ----

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// mp4Box is an ISO-BMFF box with a 32-bit size.
func mp4Box(typ string, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat(binary.BigEndian.AppendUint32(nil, uint32(8+len(p))), []byte(typ), p)
}

// mp4LargeBox is a box with size 1 and a 64-bit largesize.
func mp4LargeBox(typ string, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat([]byte{0, 0, 0, 1}, []byte(typ), binary.BigEndian.AppendUint64(nil, uint64(16+len(p))), p)
}

// mp4OpenBox is a box with size 0: it runs to the end of the file.
func mp4OpenBox(typ string, payload ...[]byte) []byte {
	return cat([]byte{0, 0, 0, 0}, []byte(typ), cat(payload...))
}

func ftyp(major string, compatible ...string) []byte {
	p := cat([]byte(major), []byte{0, 0, 2, 0})
	for _, c := range compatible {
		p = append(p, c...)
	}
	return mp4Box("ftyp", p)
}

// trak is a track whose handler is handler ("soun", "vide", "pict"…).
func trak(handler string) []byte {
	hdlr := mp4Box("hdlr", make([]byte, 8), []byte(handler), make([]byte, 12), []byte("Pulse\x00"))
	return mp4Box("trak", mp4Box("tkhd", make([]byte, 84)),
		mp4Box("mdia", mp4Box("mdhd", make([]byte, 24)), hdlr, mp4Box("minf", mp4Box("smhd", make([]byte, 8)))))
}

func moov(traks ...[]byte) []byte {
	return mp4Box("moov", append([][]byte{mp4Box("mvhd", make([]byte, 100))}, traks...)...)
}

func mdat() []byte { return mp4Box("mdat", bytes.Repeat([]byte{0x55}, 64)) }

// MustMP4 returns a minimal valid MP4 (or M4A, by its brand) file: ftyp,
// moov with one track of the handler, mdat.
func MustMP4(tb testing.TB, major, handler string) []byte {
	tb.Helper()
	b := cat(ftyp(major, major, "isom", "mp41"), moov(trak(handler)), mdat())
	_, err := Probe(bytes.NewReader(b), int64(len(b)))
	require.NoError(tb, err)
	return b
}

// ebml is an EBML element; id is written as the specs write it, with its
// length marker.
func ebml(id uint64, payload ...[]byte) []byte {
	p := cat(payload...)
	idb := binary.BigEndian.AppendUint64(nil, id)
	for len(idb) > 1 && idb[0] == 0 {
		idb = idb[1:]
	}
	return cat(idb, ebmlSize(len(p)), p)
}

// ebmlSize is a size as a vint of the fewest bytes.
func ebmlSize(n int) []byte {
	for l := 1; l <= 8; l++ {
		if uint64(n) < 1<<(7*l)-1 {
			b := binary.BigEndian.AppendUint64(nil, uint64(n)|1<<(7*l))
			return b[8-l:]
		}
	}
	panic("too large")
}

// ebmlUnknown is an element of unknown size (as live recordings write
// their Segment).
func ebmlUnknown(id uint64, payload ...[]byte) []byte {
	b := ebml(id)
	return cat(b[:len(b)-1], []byte{0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, cat(payload...))
}

func ebmlUint(id uint64, v byte) []byte { return ebml(id, []byte{v}) }

func ebmlHeader(docType string, extra ...[]byte) []byte {
	return ebml(idEBML, append([][]byte{ebmlUint(0x4286, 1), ebmlUint(0x42F7, 1), ebmlUint(0x42F2, 4), ebmlUint(0x42F3, 8),
		ebml(idDocType, []byte(docType)), ebmlUint(0x4287, 4), ebmlUint(0x4285, 2)}, extra...)...)
}

func segmentBody() []byte {
	info := ebml(0x1549A966, ebml(0x2AD7B1, []byte{0x0f, 0x42, 0x40}))
	tracks := ebml(0x1654AE6B, ebml(0xAE, ebmlUint(0xD7, 1), ebml(0x86, []byte("A_OPUS")), ebmlUint(0x83, 2)))
	return cat(info, tracks)
}

// MustWebM returns a minimal valid WebM file: the EBML header and a
// Segment with Info and Tracks.
func MustWebM(tb testing.TB) []byte {
	tb.Helper()
	b := cat(ebmlHeader("webm"), ebml(idSegment, segmentBody()))
	_, err := Probe(bytes.NewReader(b), int64(len(b)))
	require.NoError(tb, err)
	return b
}

// crcBitwise is the Ogg CRC computed bit by bit, independently of the
// table in container.go.
func crcBitwise(b []byte) uint32 {
	var crc uint32
	for _, c := range b {
		crc ^= uint32(c) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// oggPage is an Ogg page holding one packet, with a correct CRC.
func oggPage(headerType byte, packet []byte) []byte {
	var lacing []byte
	n := len(packet)
	for ; n >= 255; n -= 255 {
		lacing = append(lacing, 255)
	}
	lacing = append(lacing, byte(n))
	h := cat([]byte("OggS"), []byte{0, headerType}, make([]byte, 8), []byte{0x78, 0x56, 0x34, 0x12}, make([]byte, 4), make([]byte, 4),
		[]byte{byte(len(lacing))}, lacing)
	page := cat(h, packet)
	binary.LittleEndian.PutUint32(page[22:26], crcBitwise(page))
	return page
}

// opusHead is the identification header of an Ogg Opus stream (RFC 7845).
var opusHead = cat([]byte("OpusHead"), []byte{1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0})

// MustOgg returns a minimal valid Ogg Opus file: a first page with the
// OpusHead packet, then a page with OpusTags.
func MustOgg(tb testing.TB) []byte {
	tb.Helper()
	b := cat(oggPage(0x02, opusHead), oggPage(0x00, cat([]byte("OpusTags"), make([]byte, 8))))
	_, err := Probe(bytes.NewReader(b), int64(len(b)))
	require.NoError(tb, err)
	return b
}

// ---- tests ----

func TestProbeAccepts(t *testing.T) {
	audio, video := Kind{"audio/mp4", ".m4a"}, Kind{"video/mp4", ".mp4"}
	for _, tc := range []struct {
		name string
		file []byte
		want Kind
	}{
		{"m4a", MustMP4(t, "M4A ", "soun"), audio},
		{"mp4", MustMP4(t, "isom", "vide"), video},
		{"mp4 audio and video", cat(ftyp("mp42", "isom"), moov(trak("vide"), trak("soun")), mdat()), video},
		{"moov after mdat", cat(ftyp("M4A "), mdat(), moov(trak("soun"))), audio},
		{"mdat to the end (size 0)", cat(ftyp("isom"), moov(trak("vide")), mp4OpenBox("mdat", make([]byte, 100))), video},
		{"mdat with a 64-bit size", cat(ftyp("isom"), moov(trak("vide")), mp4LargeBox("mdat", make([]byte, 100))), video},
		{"moov with a 64-bit size", cat(ftyp("isom"), mp4LargeBox("moov", mp4Box("mvhd", make([]byte, 100)), trak("soun")), mdat()), video},
		{"fragmented", cat(ftyp("iso6", "dash"), moov(trak("vide"), mp4Box("mvex")), mp4Box("moof", mp4Box("mfhd", make([]byte, 8))), mdat(),
			mp4Box("moof", mp4Box("mfhd", make([]byte, 8))), mdat()), video},
		{"free box and no compatible brands", cat(ftyp("isom"), mp4Box("free"), moov(trak("soun")), mdat()), video},
		{"a subtitle track beside audio", cat(ftyp("M4A "), moov(trak("text"), trak("soun")), mdat()), audio},
		{"webm", MustWebM(t), Kind{"video/webm", ".webm"}},
		{"webm live recording (unknown Segment size)", cat(ebmlHeader("webm"), ebmlUnknown(idSegment, segmentBody())), Kind{"video/webm", ".webm"}},
		{"webm with Void before the Segment", cat(ebmlHeader("webm"), ebml(idVoid, make([]byte, 10)), ebml(idSegment, segmentBody())), Kind{"video/webm", ".webm"}},
		{"webm DocType padded with zeros", cat(ebmlHeader("webm\x00\x00"), ebml(idSegment, segmentBody())), Kind{"video/webm", ".webm"}},
		{"webm with a Void in its header", cat(ebmlHeader("webm", ebml(idVoid, make([]byte, 3))), ebml(idSegment, segmentBody())), Kind{"video/webm", ".webm"}},
		{"ogg opus", MustOgg(t), Kind{"audio/ogg", ".ogg"}},
		{"ogg vorbis", oggPage(0x02, cat([]byte("\x01vorbis"), make([]byte, 23))), Kind{"audio/ogg", ".ogg"}},
		{"ogg flac", oggPage(0x02, cat([]byte("\x7fFLAC\x01\x00\x00\x01fLaC"), make([]byte, 38))), Kind{"audio/ogg", ".ogg"}},
		{"ogg theora", oggPage(0x02, cat([]byte("\x80theora"), make([]byte, 35))), Kind{"video/ogg", ".ogv"}},
		{"ogg first packet over 255 bytes", oggPage(0x02, cat(opusHead, make([]byte, 300))), Kind{"audio/ogg", ".ogg"}},
		{"mp3", []byte("ID3\x04\x00"), Kind{"audio/mpeg", ".mp3"}}, // checked by decoding, in Import
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Probe(bytes.NewReader(tc.file), int64(len(tc.file)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestProbeRefuses(t *testing.T) {
	good := MustMP4(t, "isom", "vide")
	withSize := func(b []byte, off int, size uint32) []byte {
		b = bytes.Clone(b)
		binary.BigEndian.PutUint32(b[off:], size)
		return b
	}
	moovAt := bytes.Index(good, []byte("moov")) - 4
	webm := MustWebM(t)
	segAt := bytes.Index(webm, []byte{0x18, 0x53, 0x80, 0x67})
	ogg := MustOgg(t)
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 0x01; return b }
	for _, tc := range []struct {
		name string
		file []byte
		code string
		msg  string // in the message
	}{
		// MP4 and M4A.
		{"mp4 header only", []byte("\x00\x00\x00\x20ftypisom\x00\x00"), pulse.EInvalid, "ftyp"},
		{"m4a header only", []byte("\x00\x00\x00\x20ftypM4A \x00\x00"), pulse.EInvalid, "ftyp"},
		{"ftyp only", ftyp("isom", "isom"), pulse.EInvalid, "no moov box"},
		{"cut short in mdat", good[:len(good)-10], pulse.EInvalid, `box "mdat"`},
		{"cut short in moov", good[:moovAt+40], pulse.EInvalid, `box "moov"`},
		{"stray bytes at the end", cat(good, []byte{0, 0, 0}), pulse.EInvalid, "3 stray bytes"},
		{"box size below its header", withSize(good, moovAt, 4), pulse.EInvalid, "impossible size"},
		{"box size past the end", withSize(good, moovAt, 1<<30), pulse.EInvalid, "claims 1073741824 bytes"},
		{"64-bit size below its header", cat(ftyp("isom"), []byte{0, 0, 0, 1}, []byte("mdat"), binary.BigEndian.AppendUint64(nil, 8)), pulse.EInvalid, "impossible size"},
		{"64-bit size past the end", cat(ftyp("isom"), []byte{0, 0, 0, 1}, []byte("mdat"), binary.BigEndian.AppendUint64(nil, 1<<40)), pulse.EInvalid, "claims"},
		{"64-bit size cut short", cat(ftyp("isom"), []byte{0, 0, 0, 1}, []byte("mdat"), []byte{0, 0}), pulse.EInvalid, "64-bit size"},
		{"child box overruns its parent", cat(ftyp("isom"), mp4Box("moov", withSize(trak("vide"), 0, 500)), mdat()), pulse.EInvalid, `box "trak"`},
		{"garbage box type", cat(ftyp("isom"), moov(trak("vide")), mp4Box("\x00\x01\x02\x03")), pulse.EInvalid, "no valid type"},
		{"ftyp of odd length", cat(mp4Box("ftyp", []byte("isom\x00\x00\x02\x00is")), moov(trak("vide"))), pulse.EInvalid, "ftyp box is 10 bytes"},
		{"two moov boxes", cat(ftyp("isom"), moov(trak("vide")), moov(trak("vide"))), pulse.EInvalid, "two moov"},
		{"moov without tracks", cat(ftyp("isom"), moov(), mdat()), pulse.EInvalid, "no tracks"},
		{"track without mdia", cat(ftyp("isom"), moov(mp4Box("trak", mp4Box("tkhd", make([]byte, 84)))), mdat()), pulse.EInvalid, "no mdia"},
		{"track without hdlr", cat(ftyp("isom"), moov(mp4Box("trak", mp4Box("mdia", mp4Box("mdhd", make([]byte, 24))))), mdat()), pulse.EInvalid, "no handler"},
		{"hdlr too short", cat(ftyp("isom"), moov(mp4Box("trak", mp4Box("mdia", mp4Box("hdlr", make([]byte, 6))))), mdat()), pulse.EInvalid, "no handler"},
		{"only a metadata track", cat(ftyp("isom"), moov(trak("meta")), mdat()), pulse.EUnsupported, `"meta"`},
		{"heic image", cat(ftyp("heic", "mif1", "heic"), mp4Box("meta", make([]byte, 40)), mdat()), pulse.EUnsupported, "image"},
		{"heix image", cat(ftyp("heix", "mif1"), mp4Box("meta", make([]byte, 40))), pulse.EUnsupported, "image"},
		{"mif1 image", cat(ftyp("mif1", "heic"), mp4Box("meta", make([]byte, 40))), pulse.EUnsupported, "image"},
		{"msf1 image sequence", cat(ftyp("msf1", "hevc"), moov(trak("pict")), mdat()), pulse.EUnsupported, "image"},
		{"avif image", cat(ftyp("avif", "mif1", "miaf"), mp4Box("meta", make([]byte, 40)), mdat()), pulse.EUnsupported, "image"},
		{"avis image sequence", cat(ftyp("avis", "avif", "msf1"), moov(trak("pict")), mdat()), pulse.EUnsupported, "image"},
		{"only image compatible brands", cat(ftyp("abcd", "avif", "mif1"), moov(trak("pict")), mdat()), pulse.EUnsupported, "image"},

		// WebM.
		{"webm header only (the old sniff accepted it)", append([]byte{0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84}, []byte("webm")...), pulse.EInvalid, "EBML header"},
		{"webm without a Segment", ebmlHeader("webm"), pulse.EInvalid, "without a Segment"},
		{"webm with a Cluster instead of a Segment", cat(ebmlHeader("webm"), ebml(0x1F43B675, make([]byte, 8))), pulse.EInvalid, "a Segment must follow"},
		{"webm Segment past the end", webm[:len(webm)-4], pulse.EInvalid, "Segment claims"},
		{"webm empty Segment", cat(ebmlHeader("webm"), ebml(idSegment)), pulse.EInvalid, "Segment is empty"},
		{"webm Segment of junk", cat(ebmlHeader("webm"), ebml(idSegment, []byte{0x81, 0x80, 0x00})), pulse.EInvalid, "unknown element"},
		{"webm Segment header cut short", webm[:segAt+2], pulse.EInvalid, "element header"},
		{"webm invalid size vint", cat(ebmlHeader("webm"), []byte{0x18, 0x53, 0x80, 0x67, 0x00, 0x01}), pulse.EInvalid, "invalid element header"},
		{"webm header overruns the file", ebmlHeader("webm")[:30], pulse.EInvalid, "EBML header claims"},
		{"webm header element overruns the header", cat(ebml(idEBML, []byte{0x42, 0x82, 0x8a}, []byte("webm")), ebml(idSegment, segmentBody())), pulse.EInvalid, "overruns"},
		{"webm without DocType", cat(ebml(idEBML, ebmlUint(0x4286, 1), ebml(idVoid, []byte("webm"))), ebml(idSegment, segmentBody())), pulse.EInvalid, "no DocType"},
		{"DocType not exactly webm", cat(ebmlHeader("webmx"), ebml(idSegment, segmentBody())), pulse.EUnsupported, `"webmx"`},
		{"DocType WEBM", cat(ebmlHeader("xWEBM", ebml(0xEC, []byte("webm"))), ebml(idSegment, segmentBody())), pulse.EUnsupported, `"xWEBM"`},
		{"matroska with webm in a tag", cat(ebmlHeader("matroska", ebml(0xEC, []byte("webm"))), ebml(idSegment, segmentBody())), pulse.EUnsupported, "Matroska"},
		{"EBML read version 2", cat(ebml(idEBML, ebmlUint(0x42F7, 2), ebml(idDocType, []byte("webm"))), ebml(idSegment, segmentBody())), pulse.EUnsupported, "reader version 2"},

		// Ogg.
		{"ogg header only (the old sniff accepted it)", []byte("OggS\x00\x02"), pulse.EInvalid, "shorter than one page header"},
		{"ogg bad CRC", flip(ogg, 30), pulse.EInvalid, "CRC"},
		{"ogg bad CRC field", flip(ogg, 23), pulse.EInvalid, "CRC"},
		{"ogg version 1", oggPageWith(t, func(p []byte) { p[4] = 1 }), pulse.EInvalid, "version 1"},
		{"ogg not beginning a stream", oggPage(0x00, opusHead), pulse.EInvalid, "does not begin a stream"},
		{"ogg continued packet first", oggPage(0x03, opusHead), pulse.EInvalid, "does not begin a stream"},
		{"ogg first page cut short", ogg[:40], pulse.EInvalid, "first page claims"},
		{"ogg segment table cut short", ogg[:27], pulse.EInvalid, "cut short"},
		{"ogg speex", oggPage(0x02, cat([]byte("Speex   "), make([]byte, 72))), pulse.EUnsupported, `"Speex   "`},
		{"ogg skeleton", oggPage(0x02, cat([]byte("fishead\x00"), make([]byte, 56))), pulse.EUnsupported, "Opus, Vorbis, FLAC and Theora"},
		{"ogg empty packet", oggPage(0x02, nil), pulse.EUnsupported, "codec"},

		{"text", []byte("this is not audio"), pulse.EUnsupported, "unsupported or unrecognised"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Probe(bytes.NewReader(tc.file), int64(len(tc.file)))
			require.Error(t, err)
			assert.Equal(t, tc.code, pulse.ErrorCode(err), err.Error())
			assert.Contains(t, pulse.ErrorMessage(err), tc.msg)
		})
	}
}

// oggPageWith returns the Opus first page edited by edit, with its CRC
// made right again: only the edit is wrong.
func oggPageWith(t *testing.T, edit func(page []byte)) []byte {
	t.Helper()
	p := oggPage(0x02, opusHead)
	edit(p)
	clear(p[22:26])
	binary.LittleEndian.PutUint32(p[22:26], crcBitwise(p))
	return p
}

func TestOggCRC(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("OggS"), oggPage(0x02, opusHead), bytes.Repeat([]byte{0xa5}, 1000)} {
		assert.Equal(t, crcBitwise(b), OggCRC(b), "OggCRC(% x…)", b[:min(len(b), 8)])
	}
	// The CRC of the byte 0x01 is the polynomial itself: a table built
	// reflected (as hash/crc32's) would give another value.
	assert.Equal(t, uint32(0x04c11db7), OggCRC([]byte{0x01}))
}

// TestProbeFFmpeg checks files made by ffmpeg, when it is installed; make
// test does not need it.
func TestProbeFFmpeg(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is not installed")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		file string
		args []string
		mime string
	}{
		{"a.m4a", []string{"-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac"}, "audio/mp4"},
		{"v.mp4", []string{"-f", "lavfi", "-i", "testsrc=d=1:s=64x64", "-pix_fmt", "yuv420p"}, "video/mp4"},
		{"v.webm", []string{"-f", "lavfi", "-i", "testsrc=d=1:s=64x64", "-c:v", "libvpx-vp9"}, "video/webm"},
		{"a.webm", []string{"-f", "lavfi", "-i", "sine=d=1", "-c:a", "libopus"}, "video/webm"},
		{"a.opus", []string{"-f", "lavfi", "-i", "sine=d=1", "-c:a", "libopus", "-f", "ogg"}, "audio/ogg"},
		{"a.ogg", []string{"-f", "lavfi", "-i", "sine=d=1", "-c:a", "libvorbis"}, "audio/ogg"},
		{"a.mkv", []string{"-f", "lavfi", "-i", "sine=d=1", "-c:a", "libopus"}, ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			out, err := exec.Command(ffmpeg, append(append([]string{"-hide_banner", "-loglevel", "error"}, tc.args...), path)...).CombinedOutput()
			if err != nil {
				t.Skipf("this ffmpeg cannot make %s: %v\n%s", tc.file, err, out)
			}
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			k, err := Probe(bytes.NewReader(b), int64(len(b)))
			if tc.mime == "" {
				assert.Equal(t, pulse.EUnsupported, pulse.ErrorCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.mime, k.MIME)
			_, err = Probe(bytes.NewReader(b[:len(b)*2/3]), int64(len(b)*2/3))
			if tc.mime != "video/webm" && tc.mime != "audio/ogg" { // cut: the sizes no longer fit
				assert.Error(t, err, "the first two thirds of %s", tc.file)
			}
		})
	}
}
