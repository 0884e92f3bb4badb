package browser

import (
	"syscall/js"

	"honnef.co/go/js/dom/v2"
)

// ElementByID returns the page's element with the id as a dom v2 element,
// or nil. It builds the element directly rather than through
// Document.GetElementByID, whose wrapper switches over every HTML element
// type: that would link the methods of all of them into the player
// (some 40 KB of its brotli size) for the handful it uses.
func ElementByID(id string) *dom.BasicHTMLElement {
	v := js.Global().Get("document").Call("getElementById", id)
	if !v.Truthy() {
		return nil
	}
	return Element(v)
}

// Element wraps a DOM element as a dom v2 element.
func Element(v js.Value) *dom.BasicHTMLElement {
	return &dom.BasicHTMLElement{BasicElement: &dom.BasicElement{BasicNode: &dom.BasicNode{Value: v}}}
}

// MediaElementByID returns the page's <audio> or <video> element with the
// id, or nil when there is none.
func MediaElementByID(id string) *dom.HTMLMediaElement {
	e := ElementByID(id)
	if e == nil {
		return nil
	}
	switch e.Underlying().Get("tagName").String() {
	case "AUDIO", "VIDEO":
		return &dom.HTMLMediaElement{BasicHTMLElement: e}
	}
	return nil
}
