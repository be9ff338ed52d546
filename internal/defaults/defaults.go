package defaults

import "time"

const (
	// PerAttempt is one attempt's wait for an answer. Inside the city
	// network a DNS answer takes well under 50 ms; 2 s is forty times
	// that, yet short enough that a server a PC would give up on is not
	// called healthy.
	PerAttempt = 2 * time.Second
	// Attempts: a second try, so that one lost UDP packet does not fail a
	// school (a PC's resolver retries too); a third would hide a server
	// that loses a third of its answers.
	Attempts = 2
	// DHCPWindow: dnsmasq pings an address for about 3 s before offering
	// it to a new client, so a shorter window misses its offer.
	DHCPWindow = 4 * time.Second
)
