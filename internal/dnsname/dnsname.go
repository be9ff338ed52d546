package dnsname

import "strings"

// Canonical returns name lower-cased, without surrounding blanks, trailing
// NULs or the trailing dot. The root "." becomes "".
func Canonical(name string) string {
	name = strings.TrimSpace(strings.TrimRight(name, "\x00"))
	name = strings.TrimSuffix(name, ".")
	return strings.ToLower(name)
}

// Equal reports whether a and b are the same DNS name.
func Equal(a, b string) bool { return Canonical(a) == Canonical(b) }

// FQDN returns the canonical name with the trailing dot a DNS question needs.
func FQDN(name string) string { return Canonical(name) + "." }

// SRVName is the name a KMS client asks for a DNS suffix.
func SRVName(suffix string) string { return "_vlmcs._tcp." + FQDN(suffix) }

// IsRoot reports whether name is the root ("." or empty): an SRV target of
// "." means the service is not available (RFC 2782).
func IsRoot(name string) bool { return Canonical(name) == "" }
