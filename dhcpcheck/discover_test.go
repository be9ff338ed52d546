package dhcpcheck

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

var (
	clientMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	campusMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x67}
	rogueMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}
)

// reply is one scripted answer of the fake server.
type reply struct {
	delay time.Duration
	from  net.Addr
	// build makes the packet from the client's DISCOVER.
	build func(t *testing.T, disc *dhcpv4.DHCPv4) []byte
}

// fakeServer answers the first message it reads with its script and
// records every message the client sends, so tests can assert that the
// probe sends exactly one DISCOVER and never a REQUEST.
type fakeServer struct {
	mu   sync.Mutex
	seen []*dhcpv4.DHCPv4
	done chan struct{}
}

func startFake(t *testing.T, script []reply) (*memConn, *fakeServer) {
	t.Helper()
	client, server := memPipe(&net.UDPAddr{IP: net.IPv4zero, Port: 68}, &net.UDPAddr{IP: net.IPv4(10, 1, 2, 1), Port: 67})
	fs := &fakeServer{done: make(chan struct{})}
	go func() {
		defer close(fs.done)
		buf := make([]byte, 1500)
		first := true
		for {
			n, _, err := server.ReadFrom(buf)
			if err != nil {
				return
			}
			m, err := dhcpv4.FromBytes(buf[:n])
			if err != nil {
				t.Errorf("fake server: client sent a packet that is not DHCP: %v", err)
				continue
			}
			fs.mu.Lock()
			fs.seen = append(fs.seen, m)
			fs.mu.Unlock()
			if !first {
				continue
			}
			first = false
			for _, r := range script {
				time.Sleep(r.delay)
				if server.sendFrom(r.build(t, m), r.from) != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		client.Close()
		server.Close()
		<-fs.done
	})
	return client, fs
}

func (f *fakeServer) messages() []*dhcpv4.DHCPv4 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*dhcpv4.DHCPv4(nil), f.seen...)
}

// offerFrom builds an offer as a server with id sid would, with mods.
func offerFrom(sid net.IP, yi net.IP, mods ...dhcpv4.Modifier) func(*testing.T, *dhcpv4.DHCPv4) []byte {
	return func(t *testing.T, disc *dhcpv4.DHCPv4) []byte {
		all := append([]dhcpv4.Modifier{
			dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer),
			dhcpv4.WithServerIP(sid),
			dhcpv4.WithYourIP(yi),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(sid)),
		}, mods...)
		o, err := dhcpv4.NewReplyFromRequest(disc, all...)
		if err != nil {
			t.Errorf("fake server: %v", err)
			return nil
		}
		return o.ToBytes()
	}
}

func peer(ip string, mac net.HardwareAddr) net.Addr {
	return &PeerAddr{IP: net.ParseIP(ip).To4(), Port: 67, MAC: mac}
}

// offerSummary keeps what the Discover tests assert on.
type offerSummary struct {
	ServerID, YourIP, Suffix, MAC string
	DNS                           []string
	Search                        []string
	Lease                         time.Duration
	Suffix15                      OptState
}

func summarize(os []Offer) []offerSummary {
	var out []offerSummary
	for _, o := range os {
		out = append(out, offerSummary{
			ServerID: ipText(o.ServerID), YourIP: ipText(o.YourIP), Suffix: o.Suffix, MAC: macText(o.ServerMAC),
			DNS: ipStrings(o.DNS), Search: o.SearchList, Lease: o.LeaseTime, Suffix15: o.State(OptDomainName),
		})
	}
	return out
}

func TestDiscover(t *testing.T) {
	campus := net.IPv4(10, 1, 2, 1).To4()
	rogue := net.IPv4(192, 168, 1, 1).To4()
	campusOpts := []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptDomainName("demo-jh.kh.edu.tw")),
		dhcpv4.WithOption(dhcpv4.OptDNS(net.IPv4(10, 1, 2, 3))),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(8 * time.Hour)),
	}
	tests := []struct {
		name   string
		script []reply
		want   []offerSummary
	}{
		{
			name:   "one campus offer",
			script: []reply{{from: peer("10.1.2.1", campusMAC), build: offerFrom(campus, net.IPv4(10, 1, 2, 57), campusOpts...)}},
			want: []offerSummary{{ServerID: "10.1.2.1", YourIP: "10.1.2.57", Suffix: "demo-jh.kh.edu.tw", MAC: campusMAC.String(),
				DNS: []string{"10.1.2.3"}, Lease: 8 * time.Hour, Suffix15: Present}},
		},
		{
			name: "every offer in the window, not just the first",
			script: []reply{
				{from: peer("10.1.2.1", campusMAC), build: offerFrom(campus, net.IPv4(10, 1, 2, 57), campusOpts...)},
				{delay: 50 * time.Millisecond, from: peer("192.168.1.1", rogueMAC), build: offerFrom(rogue, net.IPv4(192, 168, 1, 100),
					dhcpv4.WithOption(dhcpv4.OptDomainName("home")), dhcpv4.WithOption(dhcpv4.OptDNS(rogue)))},
			},
			want: []offerSummary{
				{ServerID: "10.1.2.1", YourIP: "10.1.2.57", Suffix: "demo-jh.kh.edu.tw", MAC: campusMAC.String(), DNS: []string{"10.1.2.3"}, Lease: 8 * time.Hour, Suffix15: Present},
				{ServerID: "192.168.1.1", YourIP: "192.168.1.100", Suffix: "home", MAC: rogueMAC.String(), DNS: []string{"192.168.1.1"}, Suffix15: Present},
			},
		},
		{
			name: "answers to others, non-offers and garbage are ignored",
			script: []reply{
				{from: peer("10.1.2.1", campusMAC), build: func(t *testing.T, d *dhcpv4.DHCPv4) []byte {
					o := offerFrom(campus, net.IPv4(10, 1, 2, 58))(t, d)
					o[4] ^= 0xff // another transaction
					return o
				}},
				{from: peer("10.1.2.1", campusMAC), build: func(t *testing.T, d *dhcpv4.DHCPv4) []byte {
					o := offerFrom(campus, net.IPv4(10, 1, 2, 59))(t, d)
					o[28+5] ^= 0xff // another client's MAC
					return o
				}},
				{from: peer("10.1.2.1", campusMAC), build: offerFrom(campus, net.IPv4(10, 1, 2, 60), dhcpv4.WithMessageType(dhcpv4.MessageTypeAck))},
				{from: peer("10.1.2.1", campusMAC), build: func(*testing.T, *dhcpv4.DHCPv4) []byte { return []byte("not dhcp") }},
				{from: peer("10.1.2.9", clientMAC), build: func(t *testing.T, d *dhcpv4.DHCPv4) []byte { return d.ToBytes() }}, // our own DISCOVER echoed
				{from: peer("10.1.2.1", campusMAC), build: offerFrom(campus, net.IPv4(10, 1, 2, 61))},
			},
			want: []offerSummary{{ServerID: "10.1.2.1", YourIP: "10.1.2.61", MAC: campusMAC.String(), Suffix15: Absent}},
		},
		{
			name: "malformed option 15 is still an offer",
			script: []reply{{from: peer("10.1.2.1", campusMAC), build: offerFrom(campus, net.IPv4(10, 1, 2, 57),
				dhcpv4.WithGeneric(dhcpv4.OptionDomainName, []byte("a.example b.example")))}},
			want: []offerSummary{{ServerID: "10.1.2.1", YourIP: "10.1.2.57", Suffix: "a.example b.example", MAC: campusMAC.String(), Suffix15: Malformed}},
		},
		{
			name: "plain UDP source: no MAC, server id from option 54",
			script: []reply{{from: &net.UDPAddr{IP: net.IPv4(10, 1, 9, 1), Port: 67}, build: offerFrom(campus, net.IPv4(10, 1, 2, 57),
				dhcpv4.WithGatewayIP(net.IPv4(10, 1, 9, 1)))}},
			want: []offerSummary{{ServerID: "10.1.2.1", YourIP: "10.1.2.57", MAC: "unknown", Suffix15: Absent}},
		},
		{name: "no server: empty, not an error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, srv := startFake(t, tc.script)
			window := 300 * time.Millisecond
			start := time.Now()
			got, err := Discover(context.Background(), Options{Iface: "test0", MAC: clientMAC, Window: window, Conn: conn})
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if el := time.Since(start); el < window {
				t.Errorf("Discover returned after %v, before the %v window ended: it must collect every offer", el, window)
			}
			if diff := cmp.Diff(tc.want, summarize(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("offers (-want +got):\n%s", diff)
			}
			checkOneWindowsDiscover(t, srv.messages())
		})
	}
}

// checkOneWindowsDiscover asserts the probe sent exactly one message, a
// DISCOVER shaped like Windows', and so no REQUEST that could take a lease.
func checkOneWindowsDiscover(t *testing.T, msgs []*dhcpv4.DHCPv4) {
	t.Helper()
	if len(msgs) != 1 {
		t.Fatalf("client sent %d messages, want exactly one DISCOVER", len(msgs))
	}
	d := msgs[0]
	var prl []uint8
	for _, c := range d.ParameterRequestList() {
		prl = append(prl, c.Code())
	}
	got := map[string]any{
		"type":         d.MessageType().String(),
		"chaddr":       d.ClientHWAddr.String(),
		"broadcast":    d.IsBroadcast(),
		"vendor_class": d.ClassIdentifier(),
		"prl":          prl,
		"client_id":    d.Options.Get(dhcpv4.OptionClientIdentifier),
	}
	want := map[string]any{
		"type":         "DISCOVER",
		"chaddr":       clientMAC.String(),
		"broadcast":    true,
		"vendor_class": "MSFT 5.0",
		"prl":          []uint8{1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252},
		"client_id":    append([]byte{1}, clientMAC...),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DISCOVER (-want +got):\n%s", diff)
	}
}

func TestDiscoverContext(t *testing.T) {
	campus := net.IPv4(10, 1, 2, 1).To4()
	script := []reply{{from: peer("10.1.2.1", campusMAC), build: offerFrom(campus, net.IPv4(10, 1, 2, 57))}}

	t.Run("cancel returns the offers so far and the cause, promptly", func(t *testing.T) {
		conn, _ := startFake(t, script)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(150*time.Millisecond, cancel)
		start := time.Now()
		got, err := Discover(ctx, Options{Iface: "test0", MAC: clientMAC, Window: 10 * time.Second, Conn: conn})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if len(got) != 1 {
			t.Errorf("got %d offers, want the 1 that arrived before the cancel", len(got))
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("cancel took %v to end the window", el)
		}
	})
	t.Run("an earlier context deadline ends the window without error", func(t *testing.T) {
		conn, _ := startFake(t, script)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		got, err := Discover(ctx, Options{Iface: "test0", MAC: clientMAC, Window: 10 * time.Second, Conn: conn})
		if err != nil || len(got) != 1 {
			t.Errorf("Discover = %d offers, %v; want 1, nil", len(got), err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("deadline took %v to end the window", el)
		}
	})
	t.Run("already cancelled sends nothing", func(t *testing.T) {
		conn, srv := startFake(t, script)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Discover(ctx, Options{Iface: "test0", MAC: clientMAC, Conn: conn}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		time.Sleep(50 * time.Millisecond)
		if n := len(srv.messages()); n != 0 {
			t.Errorf("sent %d messages on a cancelled context", n)
		}
	})
}

func TestDiscoverErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no such interface", Options{Iface: "kmsprobe-nope0"}, `no interface "kmsprobe-nope0" on this machine`},
		{"no MAC on a test conn", Options{Iface: "test0", Conn: &memConn{}}, `interface "test0" has no Ethernet MAC address`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Discover(context.Background(), tc.opts)
			if err == nil || len(err.Error()) < len(tc.want) || err.Error()[:len(tc.want)] != tc.want {
				t.Errorf("err = %v, want prefix %q", err, tc.want)
			}
		})
	}
}
