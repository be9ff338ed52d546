package kmscheck

// The KMS protocol needs two block ciphers that crypto/aes cannot provide:
// Rijndael with a 160-bit key (the V4 MAC) and AES-128 with three round-key
// bytes altered (V6). Both are the textbook algorithm with a different key
// schedule, so one small implementation covers them. Speed does not matter:
// a probe encrypts a few hundred bytes per host.

// The S-boxes are package variables built by a function, not in init():
// the protocol ciphers below are also package variables, and Go runs all
// variable initialisers, in dependency order, before any init().
var sbox, invSbox = buildSboxes()

// buildSboxes derives the S-box from its definition (multiplicative inverse
// in GF(2^8) followed by the affine map) rather than pasting 512 numbers.
func buildSboxes() (sbox, invSbox [256]byte) {
	p, q := byte(1), byte(1)
	for {
		p = p ^ (p << 1) ^ byte(int8(p)>>7)&0x1b
		q ^= q << 1
		q ^= q << 2
		q ^= q << 4
		q ^= byte(int8(q)>>7) & 0x09
		x := q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4) ^ 0x63
		sbox[p] = x
		invSbox[x] = p
		if p == 1 {
			break
		}
	}
	sbox[0] = 0x63
	invSbox[0x63] = 0
	return sbox, invSbox
}

func rotl8(x byte, n uint) byte { return x<<n | x>>(8-n) }

func xtime(b byte) byte { return b<<1 ^ byte(int8(b)>>7)&0x1b }

func gmul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		a = xtime(a)
		b >>= 1
	}
	return p
}

// rijndael is a 128-bit-block Rijndael with an expanded key schedule that
// callers may tweak before use.
type rijndael struct {
	rounds int
	rk     [][16]byte // rounds+1 round keys
}

// newRijndael expands a 16- or 20-byte key (Nk = 4 or 5, Nr = Nk + 6).
func newRijndael(key []byte) *rijndael {
	nk := len(key) / 4
	nr := nk + 6
	words := 4 * (nr + 1)
	w := make([][4]byte, words)
	for i := 0; i < nk; i++ {
		copy(w[i][:], key[4*i:])
	}
	rcon := byte(1)
	for i := nk; i < words; i++ {
		t := w[i-1]
		if i%nk == 0 {
			t = [4]byte{sbox[t[1]] ^ rcon, sbox[t[2]], sbox[t[3]], sbox[t[0]]}
			rcon = xtime(rcon)
		} else if nk > 6 && i%nk == 4 {
			t = [4]byte{sbox[t[0]], sbox[t[1]], sbox[t[2]], sbox[t[3]]}
		}
		for j := range t {
			w[i][j] = w[i-nk][j] ^ t[j]
		}
	}
	c := &rijndael{rounds: nr, rk: make([][16]byte, nr+1)}
	for r := 0; r <= nr; r++ {
		for j := 0; j < 4; j++ {
			copy(c.rk[r][4*j:], w[4*r+j][:])
		}
	}
	return c
}

func (c *rijndael) encrypt(dst, src []byte) {
	var s [16]byte
	copy(s[:], src)
	xor16(&s, &c.rk[0])
	for r := 1; r <= c.rounds; r++ {
		for i := range s {
			s[i] = sbox[s[i]]
		}
		shiftRows(&s)
		if r != c.rounds {
			mixColumns(&s)
		}
		xor16(&s, &c.rk[r])
	}
	copy(dst, s[:])
}

func (c *rijndael) decrypt(dst, src []byte) {
	var s [16]byte
	copy(s[:], src)
	xor16(&s, &c.rk[c.rounds])
	for r := c.rounds - 1; r >= 0; r-- {
		invShiftRows(&s)
		for i := range s {
			s[i] = invSbox[s[i]]
		}
		xor16(&s, &c.rk[r])
		if r != 0 {
			invMixColumns(&s)
		}
	}
	copy(dst, s[:])
}

func xor16(s, k *[16]byte) {
	for i := range s {
		s[i] ^= k[i]
	}
}

// The state is column-major: byte 4*c+r is row r of column c.
func shiftRows(s *[16]byte) {
	var t [16]byte
	for c := 0; c < 4; c++ {
		for r := 0; r < 4; r++ {
			t[4*c+r] = s[4*((c+r)%4)+r]
		}
	}
	*s = t
}

func invShiftRows(s *[16]byte) {
	var t [16]byte
	for c := 0; c < 4; c++ {
		for r := 0; r < 4; r++ {
			t[4*((c+r)%4)+r] = s[4*c+r]
		}
	}
	*s = t
}

func mixColumns(s *[16]byte) {
	for c := 0; c < 4; c++ {
		a0, a1, a2, a3 := s[4*c], s[4*c+1], s[4*c+2], s[4*c+3]
		s[4*c] = gmul(a0, 2) ^ gmul(a1, 3) ^ a2 ^ a3
		s[4*c+1] = a0 ^ gmul(a1, 2) ^ gmul(a2, 3) ^ a3
		s[4*c+2] = a0 ^ a1 ^ gmul(a2, 2) ^ gmul(a3, 3)
		s[4*c+3] = gmul(a0, 3) ^ a1 ^ a2 ^ gmul(a3, 2)
	}
}

func invMixColumns(s *[16]byte) {
	for c := 0; c < 4; c++ {
		a0, a1, a2, a3 := s[4*c], s[4*c+1], s[4*c+2], s[4*c+3]
		s[4*c] = gmul(a0, 14) ^ gmul(a1, 11) ^ gmul(a2, 13) ^ gmul(a3, 9)
		s[4*c+1] = gmul(a0, 9) ^ gmul(a1, 14) ^ gmul(a2, 11) ^ gmul(a3, 13)
		s[4*c+2] = gmul(a0, 13) ^ gmul(a1, 9) ^ gmul(a2, 14) ^ gmul(a3, 11)
		s[4*c+3] = gmul(a0, 11) ^ gmul(a1, 13) ^ gmul(a2, 9) ^ gmul(a3, 14)
	}
}

// Public protocol keys (PROTOCOL.md §6.1). They are the same in every KMS
// client and host; they authenticate nothing secret, which is why a probe
// can verify a host but a response cannot prove the host is genuine.
var (
	keyV4 = []byte{0x05, 0x3D, 0x83, 0x07, 0xF9, 0xE5, 0xF0, 0x88, 0xEB, 0x5E, 0xA6, 0x68, 0x6C, 0xF0, 0x37, 0xC7, 0xE4, 0xEF, 0xD2, 0xD6}
	keyV5 = []byte{0xCD, 0x7E, 0x79, 0x6F, 0x2A, 0xB2, 0x5D, 0xCB, 0x55, 0xFF, 0xC8, 0xEF, 0x83, 0x64, 0xC4, 0x70}
	keyV6 = []byte{0xA9, 0x4A, 0x41, 0x95, 0xE2, 0x01, 0x43, 0x2D, 0x9B, 0xCB, 0x46, 0x04, 0x05, 0xD8, 0x4A, 0x21}
)

const (
	v6TimeC1 = 0x00000022816889BD
	v6TimeC2 = 0x000000208CBAB5ED
	v6TimeC3 = 0x3156CD5AC628477A
)

var (
	cipherV4 = newRijndael(keyV4)
	cipherV5 = newRijndael(keyV5)
	cipherV6 = func() *rijndael {
		c := newRijndael(keyV6)
		c.rk[4][0] ^= 0x73
		c.rk[6][0] ^= 0x09
		c.rk[8][0] ^= 0xE4
		return c
	}()
)

// cipherFor picks the V5 or V6 block cipher. Versions above 6 use the V6
// layout and key, as Windows clients would if a V7 ever appeared; that is
// also how the refuse-bad-version capture was made.
func cipherFor(major uint16) *rijndael {
	if major == 5 {
		return cipherV5
	}
	return cipherV6
}

func cbcEncrypt(c *rijndael, iv, plain []byte) []byte {
	out := make([]byte, len(plain))
	prev := iv
	var blk [16]byte
	for i := 0; i < len(plain); i += 16 {
		for j := 0; j < 16; j++ {
			blk[j] = plain[i+j] ^ prev[j]
		}
		c.encrypt(out[i:i+16], blk[:])
		prev = out[i : i+16]
	}
	return out
}

func cbcDecrypt(c *rijndael, iv, ct []byte) []byte {
	out := make([]byte, len(ct))
	prev := iv
	for i := 0; i < len(ct); i += 16 {
		c.decrypt(out[i:i+16], ct[i:i+16])
		for j := 0; j < 16; j++ {
			out[i+j] ^= prev[j]
		}
		prev = ct[i : i+16]
	}
	return out
}

// v4MAC is CBC-MAC with ISO/IEC 9797-1 padding method 2 over the 160-bit
// Rijndael (PROTOCOL.md §6.3).
func v4MAC(msg []byte) [16]byte {
	n := (len(msg)/16 + 1) * 16
	p := make([]byte, n)
	copy(p, msg)
	p[len(msg)] = 0x80
	ct := cbcEncrypt(cipherV4, make([]byte, 16), p)
	var m [16]byte
	copy(m[:], ct[n-16:])
	return m
}
