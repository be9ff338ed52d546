// Package delegationtest runs fake DNS hosts for delegation tests: the
// authoritative servers of a parent zone and of school zones (with
// referrals and glue, authority flags, SOA serials) and caching resolvers,
// all on loopback addresses sharing one random port, so a name server's
// A record (127.0.0.x) is all a client needs to reach it.
//
// Network safety: it binds only 127.0.0.0/8 and refuses anything else.
//
// It owns: fake authoritative servers and resolvers for the delegation leg's
// tests and init's simulated city. Tests only.
package delegationtest
