package pulse

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// DecodeObject reads b as exactly one JSON object and returns its members
// by name. It is strict: malformed JSON, anything but an object, a member
// named twice and data after the object are EInvalid errors, and so is a
// member not in allowed (naming it), so that a typo is never silently
// ignored.
func DecodeObject(b []byte, allowed []string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, Errorf(EInvalid, "the request body is empty: send a JSON object")
	}
	if err != nil {
		return nil, malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, Errorf(EInvalid, "the request body must be a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed(err)
		}
		if !slices.Contains(allowed, name) {
			return nil, FieldError(printable(name), "is not a known field (known: %s)", strings.Join(allowed, ", "))
		}
		if _, dup := members[name]; dup {
			return nil, FieldError(name, "appears twice")
		}
		members[name] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, Errorf(EInvalid, "unexpected data after the JSON object")
	}
	return members, nil
}

func malformed(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return Errorf(EInvalid, "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		return Errorf(EInvalid, "malformed JSON: the body ends too early")
	}
	return Errorf(EInvalid, "malformed JSON: %s", err.Error())
}

// printable shortens an unknown field's name for an error message.
func printable(name string) string {
	if len(name) > 64 {
		name = name[:64]
		for !utf8.ValidString(name) {
			name = name[:len(name)-1]
		}
		name += "…"
	}
	return name
}

// kindOf names the JSON type of a raw value, for error messages.
func kindOf(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '[':
		return "a list"
	case '{':
		return "an object"
	}
	return "a number"
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// DecodeString decodes a member that must be a JSON string.
func DecodeString(field string, raw json.RawMessage, into *string) error {
	if err := json.Unmarshal(raw, into); err != nil || isNull(raw) {
		return FieldError(field, "must be a string, got %s", kindOf(raw))
	}
	return nil
}

func decodeBool(field string, raw json.RawMessage, into *bool) error {
	if err := json.Unmarshal(raw, into); err != nil || isNull(raw) {
		return FieldError(field, "must be true or false, got %s", kindOf(raw))
	}
	return nil
}

func decodeInt(field string, raw json.RawMessage, into *int) error {
	if err := json.Unmarshal(raw, into); err != nil || isNull(raw) {
		if kindOf(raw) == "a number" {
			return FieldError(field, "must be a whole number, got %s", bytes.TrimSpace(raw))
		}
		return FieldError(field, "must be a whole number, got %s", kindOf(raw))
	}
	return nil
}

// webhookFields are the members a webhook's JSON may carry. The read-only
// ones (id, created_at, updated_at, warnings) are accepted so that what a
// GET returns can be sent back with a PUT.
var webhookFields = []string{"name", "url", "request_field", "response_field", "rpm", "active", "events",
	"require_param", "require_signed_link", "scope", "id", "created_at", "updated_at", "warnings"}

// DecodeWebhook applies the members of the JSON object b to w: members
// present replace w's values, absent ones leave them. Start from
// NewWebhook() to create or replace a webhook, from the stored one to
// patch it. The id member, when present, must be w's ID. On error w is
// unchanged; the result is not validated (call Validate).
func DecodeWebhook(b []byte, w *Webhook) error {
	members, err := DecodeObject(b, webhookFields)
	if err != nil {
		return err
	}
	c := *w
	c.Scope.Media = slices.Clone(w.Scope.Media)
	for _, name := range webhookFields { // a fixed order: the first error is stable
		raw, ok := members[name]
		if !ok {
			continue
		}
		var err error
		switch name {
		case "name":
			err = DecodeString(name, raw, &c.Name)
		case "url":
			err = DecodeString(name, raw, &c.URL)
		case "request_field":
			err = DecodeString(name, raw, &c.RequestField)
		case "response_field":
			err = DecodeString(name, raw, &c.ResponseField)
		case "rpm":
			err = decodeInt(name, raw, &c.RPM)
		case "active":
			err = decodeBool(name, raw, &c.Active)
		case "events":
			err = decodeBool(name, raw, &c.Events)
		case "require_param":
			err = decodeBool(name, raw, &c.RequireParam)
		case "require_signed_link":
			err = decodeBool(name, raw, &c.RequireSignedLink)
		case "scope":
			var s Scope
			if e := json.Unmarshal(raw, &s); e != nil {
				err = FieldError("scope", `must be "all" or a non-empty list of media ids, got %s`, kindOf(raw))
				var pe *Error
				if errors.As(e, &pe) {
					err = pe
				}
			}
			c.Scope = s
		case "id":
			var id string
			switch {
			case DecodeString(name, raw, &id) != nil:
				err = FieldError(name, "must be a string, got %s", kindOf(raw))
			case id == w.ID:
			case w.ID == "":
				err = FieldError(name, "is assigned by the server: leave it out")
			default:
				err = FieldError(name, "is %q but the request is about %q", printable(id), w.ID)
			}
		}
		if err != nil {
			return err
		}
	}
	*w = c
	return nil
}
