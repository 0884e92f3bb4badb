package api

import (
	"fmt"
	"strings"
)

// ParseFrameAncestors checks a CSP frame-ancestors source list (CSP Level 3
// §6.4.2, https://www.w3.org/TR/CSP3/#directive-frame-ancestors): 'none'
// alone, or sources separated by spaces, each 'self', a scheme ("https:")
// or a host source ("*", "https://lms.example.edu", "*.example.edu:8443",
// "https://lms.example.edu/courses/"). It returns the list with single
// spaces and lower-case keywords, "*" for an empty one. Anything else is
// refused, above all ";" and ",", which would end the directive or the
// policy and let the value add directives of its own.
func ParseFrameAncestors(s string) (string, error) {
	for _, c := range s {
		switch {
		case c == ';' || c == ',':
			return "", fmt.Errorf("api: frame-ancestors: %q may not contain %q: give only the sources, separated by spaces", s, c)
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f:
			return "", fmt.Errorf("api: frame-ancestors: %q contains a control character", s)
		case c >= 0x80:
			return "", fmt.Errorf("api: frame-ancestors: %q contains a non-ASCII character: write host names in punycode (xn--…)", s)
		}
	}
	sources := strings.Fields(s)
	if len(sources) == 0 {
		return "*", nil
	}
	for i, src := range sources {
		if strings.HasPrefix(src, "'") {
			kw := strings.ToLower(src)
			switch {
			case kw == "'none'" && len(sources) > 1:
				return "", fmt.Errorf("api: frame-ancestors: 'none' must stand alone, not with other sources")
			case kw == "'none'" || kw == "'self'":
				sources[i] = kw
				continue
			}
			return "", fmt.Errorf("api: frame-ancestors: %s is not allowed: the keywords are 'self' and 'none'", src)
		}
		if err := checkSource(src); err != nil {
			return "", fmt.Errorf("api: frame-ancestors: %q is not a source (such as https://lms.example.edu, *.example.edu, https: or 'self'): %s", src, err)
		}
	}
	return strings.Join(sources, " "), nil
}

// checkSource checks a scheme-source or host-source of CSP3 §2.3.1.
func checkSource(src string) error {
	rest := src
	if i := strings.Index(rest, ":"); i > 0 && isScheme(rest[:i]) {
		switch {
		case i == len(rest)-1:
			return nil // a scheme-source, "https:"
		case strings.HasPrefix(rest[i:], "://"):
			rest = rest[i+3:]
		}
		// Otherwise a host and its port: "lms.example:8443".
	}
	// host-part [ ":" port-part ] [ path-part ]
	hostEnd := strings.IndexAny(rest, ":/")
	if hostEnd < 0 {
		hostEnd = len(rest)
	}
	host, rest := rest[:hostEnd], rest[hostEnd:]
	if err := checkHostPart(host); err != nil {
		return err
	}
	if strings.HasPrefix(rest, ":") {
		portEnd := strings.IndexByte(rest, '/')
		if portEnd < 0 {
			portEnd = len(rest)
		}
		port := rest[1:portEnd]
		if port != "*" && (port == "" || strings.Trim(port, "0123456789") != "") {
			return fmt.Errorf("the port must be digits or *, got %q", port)
		}
		rest = rest[portEnd:]
	}
	if rest != "" {
		if strings.HasPrefix(rest, "//") {
			return fmt.Errorf("the path may not start with //")
		}
		for _, c := range rest {
			if !isPathChar(c) {
				return fmt.Errorf("the path may not contain %q", c)
			}
		}
	}
	return nil
}

// checkHostPart checks "*", or a host name optionally starting with "*.".
func checkHostPart(host string) error {
	if host == "*" {
		return nil
	}
	name := strings.TrimPrefix(host, "*.")
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return fmt.Errorf("there is no host")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" {
			return fmt.Errorf("the host %q has an empty label", host)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("the host may only contain letters, digits, hyphens and dots (and start with *.), got %q", c)
			}
		}
	}
	return nil
}

// isScheme reports whether s is a URL scheme: a letter, then letters,
// digits, "+", "-" or ".".
func isScheme(s string) bool {
	for i, c := range s {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// isPathChar reports whether c may appear in a source's path: "/" and the
// characters of RFC 3986 pchar ("," and ";" are refused before).
func isPathChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/-._~%!$&'()*+=:@", c)
}
