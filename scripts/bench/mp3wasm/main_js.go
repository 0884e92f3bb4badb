// Command mp3wasm is the empty Go wasm of `make bench` plus Pulse's MP3
// package (go-mp3 behind wasm/mp3): the difference between the two is what
// decoding MP3 adds to a player's size, for as long as the player does not
// link go-mp3 itself.
package main

import (
	"bytes"
	"syscall/js"

	"github.com/pulsehq/pulse/wasm/mp3"
)

func main() {
	src := js.Global().Get("location").Get("search").String()
	if _, err := mp3.Analyze(bytes.NewReader([]byte(src)), 100); err != nil {
		js.Global().Get("console").Call("log", err.Error())
	}
	js.Global().Get("performance").Call("mark", "pulse:armed")
}
