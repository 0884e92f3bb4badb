// Package web holds the files the Pulse server sends to browsers: static
// assets under static/ (the player wasm, wasm_exec.js and player.wasm are
// copied or built there by `make wasm`) and page templates under templates/.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static templates
var files embed.FS

// Static returns the static assets, served under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the directory is embedded: cannot happen
	}
	return sub
}

// Templates returns the page templates.
func Templates() fs.FS {
	sub, err := fs.Sub(files, "templates")
	if err != nil {
		panic(err)
	}
	return sub
}
