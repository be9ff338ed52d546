package dhcpcheck

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// memConn is one end of an in-memory datagram pipe with real read
// deadlines, so Discover's window logic runs unchanged in unit tests
// without root or sockets.
type memConn struct {
	in     chan memPkt
	out    chan memPkt
	local  net.Addr
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	deadline time.Time
	changed  chan struct{} // closed and replaced whenever the deadline moves
}

type memPkt struct {
	b    []byte
	from net.Addr
}

func memPipe(a, b net.Addr) (*memConn, *memConn) {
	ab, ba := make(chan memPkt, 64), make(chan memPkt, 64)
	return newMemConn(ba, ab, a), newMemConn(ab, ba, b)
}

func newMemConn(in, out chan memPkt, local net.Addr) *memConn {
	return &memConn{in: in, out: out, local: local, closed: make(chan struct{}), changed: make(chan struct{})}
}

func (c *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		c.mu.Lock()
		dl, changed := c.deadline, c.changed
		c.mu.Unlock()
		var expire <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, nil, os.ErrDeadlineExceeded
			}
			t := time.NewTimer(d)
			defer t.Stop()
			expire = t.C
		}
		select {
		case p := <-c.in:
			return copy(b, p.b), p.from, nil
		case <-c.closed:
			return 0, nil, net.ErrClosed
		case <-expire:
			return 0, nil, os.ErrDeadlineExceeded
		case <-changed:
		}
	}
}

// sendFrom delivers b to the other end as if it came from from.
func (c *memConn) sendFrom(b []byte, from net.Addr) error {
	select {
	case c.out <- memPkt{b: append([]byte(nil), b...), from: from}:
		return nil
	case <-c.closed:
		return net.ErrClosed
	}
}

func (c *memConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	if err := c.sendFrom(b, c.local); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *memConn) LocalAddr() net.Addr { return c.local }

func (c *memConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *memConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	close(c.changed)
	c.changed = make(chan struct{})
	return nil
}

func (c *memConn) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }
