// Command emptywasm is the baseline of the player's size, start-up and
// memory in `make bench`: a Go wasm whose main only touches syscall/js (it
// sets the "pulse:armed" mark, as the player does once it is armed).
package main

import "syscall/js"

func main() {
	js.Global().Get("performance").Call("mark", "pulse:armed")
}
