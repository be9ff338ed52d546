// Package delegation is the dns.delegation leg (DESIGN §4): it checks that a
// school's zone is delegated to name servers that answer for it, and that
// they agree with each other and with the parent zone.
//
// It asks three kinds of server: the city resolvers (for the parent zone's
// name servers and for name server addresses), the parent zone's own
// servers (what the delegation says: the referral's NS set and glue), and
// each of the zone's name servers (is it authoritative, which NS set and
// which SOA serial does it serve). A stale secondary — a serial behind the
// others — is the usual reason PCs get different SRV answers from
// different servers.
//
// The leg has three steps, in the shape of every other leg:
//
//	t := delegation.Plan(zone, resolvers)          // pure
//	m := delegation.Measure(ctx, t, client)        // network, bounded
//	fs := delegation.Judge(m)                      // pure
//
// Lookup is the part of Measure that `kmsprobe init --discover` needs: the
// zone's NS set through the resolvers, with addresses.
package delegation
