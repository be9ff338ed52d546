package dhcpcheck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// DHCP option codes this package reads or sends (RFC 2132, RFC 3397).
const (
	OptRouters      = 3
	OptDNS          = 6
	OptDomainName   = 15
	OptLeaseTime    = 51
	OptOverload     = 52
	OptMessageType  = 53
	OptServerID     = 54
	OptDomainSearch = 119

	optPad = 0
	optEnd = 255
)

// BOOTP layout (RFC 951, RFC 2131 §2): the fixed header, then the magic
// cookie, then options.
const (
	headerLen  = 236
	cookieLen  = 4
	optionsOff = headerLen + cookieLen
	snameOff   = 44
	snameLen   = 64
	fileOff    = 108
	fileLen    = 128

	opBootReply  = 2
	msgOffer     = 2
	flagBroadcst = 0x8000
)

var magicCookie = [4]byte{99, 130, 83, 99}

// OptState says what an offer carried for one option.
type OptState int

const (
	Absent    OptState = iota // the option is not in the offer
	Present                   // the option is there and decodes
	Malformed                 // the option is there but its bytes do not decode
)

func (s OptState) String() string {
	switch s {
	case Absent:
		return "absent"
	case Present:
		return "present"
	case Malformed:
		return "malformed"
	}
	return "optstate(" + strconv.Itoa(int(s)) + ")"
}

// Offer is one DHCPOFFER as received. The typed fields hold what decoded;
// State tells an absent option from a malformed one, which the typed fields
// alone cannot (both leave them empty).
type Offer struct {
	// ServerID is option 54. When that is absent or malformed it is the
	// packet's IP source, the best remaining name for "who answered".
	ServerID net.IP
	// ServerMAC is the Ethernet source of the frame: the server's own MAC,
	// or the relay's when Relay is set. Nil when the connection does not
	// report it (tests over plain UDP).
	ServerMAC net.HardwareAddr
	// Source is the IP source address of the packet.
	Source net.IP
	// YourIP is the address offered (yiaddr).
	YourIP net.IP
	// Relay is giaddr, nil when the offer was not relayed.
	Relay net.IP

	DNS        []net.IP      // option 6
	Suffix     string        // option 15, trailing NULs removed
	SearchList []string      // option 119, RFC 3397 names without the trailing dot
	Routers    []net.IP      // option 3
	LeaseTime  time.Duration // option 51

	// Options holds every option's raw value; a repeated option is
	// concatenated as RFC 3396 says, including those carried in the
	// sname and file fields when option 52 overloads them.
	Options map[uint8][]byte
	// Malformed names, per option code, why its bytes did not decode.
	Malformed map[uint8]string
}

// State reports whether option code was absent, present and decoded, or
// present but malformed.
func (o Offer) State(code uint8) OptState {
	if _, bad := o.Malformed[code]; bad {
		return Malformed
	}
	if _, ok := o.Options[code]; ok {
		return Present
	}
	return Absent
}

// message is the part of a BOOTP/DHCP packet the probe needs.
type message struct {
	op        byte
	xid       [4]byte
	flags     uint16
	yiaddr    net.IP
	siaddr    net.IP
	giaddr    net.IP
	chaddr    net.HardwareAddr
	options   map[uint8][]byte
	malformed map[uint8]string
}

var errNotDHCP = errors.New("not a DHCP message")

// parseMessage decodes a BOOTP header and its DHCP options. It fails only
// when the packet is not DHCP at all; broken options are recorded in
// malformed so that one bad option from a server does not hide the rest of
// its offer.
func parseMessage(b []byte) (*message, error) {
	if len(b) < optionsOff {
		return nil, fmt.Errorf("%w: %d bytes, a DHCP message has at least %d", errNotDHCP, len(b), optionsOff)
	}
	if !bytes.Equal(b[headerLen:optionsOff], magicCookie[:]) {
		return nil, fmt.Errorf("%w: no magic cookie", errNotDHCP)
	}
	m := &message{
		op:        b[0],
		flags:     binary.BigEndian.Uint16(b[10:12]),
		yiaddr:    ip4(b[16:20]),
		siaddr:    ip4(b[20:24]),
		giaddr:    ip4(b[24:28]),
		options:   map[uint8][]byte{},
		malformed: map[uint8]string{},
	}
	copy(m.xid[:], b[4:8])
	hlen := int(b[2])
	if hlen > 16 {
		hlen = 16
	}
	m.chaddr = append(net.HardwareAddr(nil), b[28:28+hlen]...)

	decodeOptions(b[optionsOff:], m.options, m.malformed)
	// RFC 2131 §4.1: with option 52 the options continue in file, then
	// sname. Servers rarely do it, but a real one that does must not look
	// like it sent no suffix.
	if ov, ok := m.options[OptOverload]; ok && len(ov) == 1 {
		if ov[0]&1 != 0 {
			decodeOptions(b[fileOff:fileOff+fileLen], m.options, m.malformed)
		}
		if ov[0]&2 != 0 {
			decodeOptions(b[snameOff:snameOff+snameLen], m.options, m.malformed)
		}
	}
	return m, nil
}

// decodeOptions walks one option area and appends each value to opts,
// concatenating repeats (RFC 3396). A truncated last option is kept with the
// bytes that arrived and marked malformed.
func decodeOptions(b []byte, opts map[uint8][]byte, malformed map[uint8]string) {
	for i := 0; i < len(b); {
		code := b[i]
		switch code {
		case optPad:
			i++
			continue
		case optEnd:
			return
		}
		if i+1 >= len(b) {
			opts[code] = append(opts[code], []byte{}...)
			malformed[code] = "option code without a length at the end of the packet"
			return
		}
		n := int(b[i+1])
		start := i + 2
		if start+n > len(b) {
			opts[code] = append(opts[code], b[start:]...)
			malformed[code] = fmt.Sprintf("length %d but only %d bytes left in the packet", n, len(b)-start)
			return
		}
		// append to a non-nil slice so that a zero-length option is
		// recorded as present rather than lost.
		if opts[code] == nil {
			opts[code] = []byte{}
		}
		opts[code] = append(opts[code], b[start:start+n]...)
		i = start + n
	}
}

func ip4(b []byte) net.IP {
	ip := net.IPv4(b[0], b[1], b[2], b[3]).To4()
	if ip.Equal(net.IPv4zero) {
		return nil
	}
	return ip
}

// newOffer decodes the options kmsprobe judges. src and mac describe where
// the packet came from.
func newOffer(m *message, src net.IP, mac net.HardwareAddr) Offer {
	o := Offer{
		ServerMAC: mac,
		Source:    src,
		YourIP:    m.yiaddr,
		Relay:     m.giaddr,
		Options:   m.options,
		Malformed: m.malformed,
	}
	bad := func(code uint8, why string) {
		if _, already := o.Malformed[code]; !already {
			o.Malformed[code] = why
		}
	}
	if v, ok := m.options[OptServerID]; ok {
		if len(v) == 4 {
			o.ServerID = net.IP(append([]byte(nil), v...))
		} else {
			bad(OptServerID, fmt.Sprintf("%d bytes, want 4", len(v)))
		}
	}
	if o.ServerID == nil {
		o.ServerID = src
	}
	if v, ok := m.options[OptDNS]; ok {
		ips, err := ipList(v)
		o.DNS = ips
		if err != nil {
			bad(OptDNS, err.Error())
		}
	}
	if v, ok := m.options[OptRouters]; ok {
		ips, err := ipList(v)
		o.Routers = ips
		if err != nil {
			bad(OptRouters, err.Error())
		}
	}
	if v, ok := m.options[OptDomainName]; ok {
		s, err := decodeSuffix(v)
		o.Suffix = s
		if err != nil {
			bad(OptDomainName, err.Error())
		}
	}
	if v, ok := m.options[OptDomainSearch]; ok {
		names, err := decodeSearchList(v)
		o.SearchList = names
		if err != nil {
			bad(OptDomainSearch, err.Error())
		}
	}
	if v, ok := m.options[OptLeaseTime]; ok {
		if len(v) == 4 {
			o.LeaseTime = time.Duration(binary.BigEndian.Uint32(v)) * time.Second
		} else {
			bad(OptLeaseTime, fmt.Sprintf("%d bytes, want 4", len(v)))
		}
	}
	return o
}

// ipList decodes an option holding one or more IPv4 addresses. On a bad
// length it still returns the whole addresses it found, for the evidence.
func ipList(v []byte) ([]net.IP, error) {
	var ips []net.IP
	for i := 0; i+4 <= len(v); i += 4 {
		ips = append(ips, net.IP(append([]byte(nil), v[i:i+4]...)))
	}
	switch {
	case len(v) == 0:
		return nil, errors.New("empty: no addresses")
	case len(v)%4 != 0:
		return ips, fmt.Errorf("%d bytes, not a multiple of 4", len(v))
	}
	return ips, nil
}

// decodeSuffix reads option 15. Some servers (and Windows DHCP) end it with
// a NUL, which is harmless; anything Windows would turn into a suffix no
// DNS name can match is malformed. The returned string is what the PC
// would use, for the evidence, even when malformed.
func decodeSuffix(v []byte) (string, error) {
	s := strings.TrimRight(string(v), "\x00")
	switch {
	case len(v) == 0:
		return "", errors.New("empty")
	case s == "":
		return "", errors.New("only NUL bytes")
	case strings.IndexByte(s, 0) >= 0:
		return s, errors.New("NUL byte inside the name")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return s, fmt.Errorf("byte %#02x at position %d is not allowed in a DNS suffix (several suffixes belong in option 119, not 15)", c, i)
		}
	}
	if err := checkName(strings.TrimSuffix(s, ".")); err != nil {
		return s, err
	}
	return s, nil
}

func checkName(s string) error {
	if len(s) > 253 {
		return fmt.Errorf("name is %d characters, DNS allows 253", len(s))
	}
	for _, l := range strings.Split(s, ".") {
		switch {
		case l == "":
			return errors.New("empty label (two dots in a row, or a leading dot)")
		case len(l) > 63:
			return fmt.Errorf("label %q is %d characters, DNS allows 63", l, len(l))
		}
	}
	return nil
}

// decodeSearchList decodes option 119 (RFC 3397): a sequence of DNS names
// in wire format whose compression pointers are offsets into the option's
// (concatenated) data. Names are returned without the trailing dot. On error
// the names decoded before the bad one are returned too.
func decodeSearchList(b []byte) ([]string, error) {
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	var names []string
	for off := 0; off < len(b); {
		name, next, err := readName(b, off)
		if err != nil {
			return names, fmt.Errorf("name %d at offset %d: %w", len(names)+1, off, err)
		}
		names = append(names, name)
		off = next
	}
	return names, nil
}

// maxNameWire is the longest a name may be in wire format (RFC 1035 §2.3.4).
const maxNameWire = 255

// readName reads one name starting at off and returns it and the offset
// after it. Pointers must point backwards, so chains of pointers end; the
// wire-length limit ends loops that run through labels.
func readName(b []byte, off int) (string, int, error) {
	var sb strings.Builder
	next := -1
	wire := 0
	pos := off
	for {
		if pos >= len(b) {
			return "", 0, errors.New("truncated: no terminating zero label")
		}
		l := int(b[pos])
		switch {
		case l == 0:
			if next < 0 {
				next = pos + 1
			}
			if sb.Len() == 0 {
				return ".", next, nil
			}
			return sb.String(), next, nil
		case l&0xC0 == 0xC0:
			if pos+1 >= len(b) {
				return "", 0, errors.New("truncated compression pointer")
			}
			ptr := (l&0x3F)<<8 | int(b[pos+1])
			if ptr >= pos {
				return "", 0, fmt.Errorf("compression pointer at %d to %d does not point backwards", pos, ptr)
			}
			if next < 0 {
				next = pos + 2
			}
			pos = ptr
		case l&0xC0 != 0:
			return "", 0, fmt.Errorf("reserved label type %#02x at %d", l&0xC0, pos)
		default:
			if pos+1+l > len(b) {
				return "", 0, fmt.Errorf("label at %d has length %d but only %d bytes follow", pos, l, len(b)-pos-1)
			}
			wire += 1 + l
			if wire+1 > maxNameWire {
				return "", 0, fmt.Errorf("name longer than %d bytes (or a compression loop)", maxNameWire)
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			writeLabel(&sb, b[pos+1:pos+1+l])
			pos += 1 + l
		}
	}
}

// writeLabel writes a label in presentation format, escaping what would
// otherwise be ambiguous or unprintable, as dig and miekg/dns do.
func writeLabel(sb *strings.Builder, l []byte) {
	for _, c := range l {
		switch {
		case c == '.' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c <= ' ' || c > '~':
			fmt.Fprintf(sb, "\\%03d", c)
		default:
			sb.WriteByte(c)
		}
	}
}

// encodeSearchList is the inverse of decodeSearchList without compression;
// the fuzz test uses it for the decode->encode->decode invariant.
func encodeSearchList(names []string) ([]byte, error) {
	var out []byte
	for _, n := range names {
		if n == "." {
			out = append(out, 0)
			continue
		}
		labels, err := splitEscaped(n)
		if err != nil {
			return nil, err
		}
		for _, l := range labels {
			if len(l) == 0 || len(l) > 63 {
				return nil, fmt.Errorf("bad label length %d in %q", len(l), n)
			}
			out = append(out, byte(len(l)))
			out = append(out, l...)
		}
		out = append(out, 0)
	}
	return out, nil
}

// splitEscaped splits a presentation-format name into raw labels.
func splitEscaped(n string) ([][]byte, error) {
	var labels [][]byte
	var cur []byte
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c == '.':
			labels = append(labels, cur)
			cur = nil
		case c == '\\':
			if i+1 >= len(n) {
				return nil, fmt.Errorf("dangling escape in %q", n)
			}
			if d := n[i+1]; d >= '0' && d <= '9' {
				if i+4 > len(n) {
					return nil, fmt.Errorf("short \\DDD escape in %q", n)
				}
				v, err := strconv.Atoi(n[i+1 : i+4])
				if err != nil || v > 255 {
					return nil, fmt.Errorf("bad \\DDD escape in %q", n)
				}
				cur = append(cur, byte(v))
				i += 3
			} else {
				cur = append(cur, d)
				i++
			}
		default:
			cur = append(cur, c)
		}
	}
	return append(labels, cur), nil
}
