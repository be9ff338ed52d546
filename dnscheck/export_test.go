package dnscheck

// NewSocketsN is a pool of n sockets per family: with one, every
// question shares it, which is what the demultiplexing tests need.
func NewSocketsN(n int) *Sockets {
	p := NewSockets()
	for f := range p.slots {
		p.slots[f] = make([]*usock, n)
	}
	return p
}
