// Package pulse holds the domain types of the Pulse server: webhooks, media,
// their validation rules, the errors the HTTP layer maps to status codes,
// and the Store interface that database adapters implement.
package pulse

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes, mapped to HTTP statuses by the API layer.
const (
	EInvalid      = "invalid"      // 400: bad input
	ENotFound     = "not_found"    // 404
	EConflict     = "conflict"     // 409: the state does not allow it
	ELimit        = "limit"        // 409: a configured limit is reached
	ETooLarge     = "too_large"    // 413
	EUnsupported  = "unsupported"  // 415: a media type Pulse does not play
	EUnauthorized = "unauthorized" // 401
	EForbidden    = "forbidden"    // 403
	ERateLimited  = "rate_limited" // 429
	EUnavailable  = "unavailable"  // 503: a dependency (the database) is down
	EInternal     = "internal"     // 500: never shown in detail to clients
)

// Error is an error a client can act on: a code, a message for people, and
// the input field it concerns, if any.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("pulse: %s: %s", e.Field, e.Message)
	}
	return "pulse: " + e.Message
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EInvalid error about one input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of an *Error in err's chain, or a generic
// message that leaks nothing for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// QuoteID quotes an id for a message, cut short when a client sent an
// absurdly long one: an error must not echo 50 KB back.
func QuoteID(id string) string {
	const max = 64
	if len(id) > max {
		return fmt.Sprintf("%q…", strings.ToValidUTF8(id[:max], ""))
	}
	return fmt.Sprintf("%q", id)
}
