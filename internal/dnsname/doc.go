// Package dnsname is the one place where DNS names are put into the form
// kmsprobe compares and prints them in. DESIGN §4: names compare
// case-insensitively and without the trailing dot; option 15 may carry a
// trailing NUL (some DHCP servers count it in the length).
//
// It must not know about schools, servers or verdicts: only names.
package dnsname
