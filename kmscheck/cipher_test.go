package kmscheck

import (
	"bytes"
	"crypto/aes"
	"testing"
)

// With Nk = 4 and no tweak our Rijndael must be AES-128 exactly.
func TestRijndaelIsAES(t *testing.T) {
	key := []byte("0123456789abcdef")
	ref, _ := aes.NewCipher(key)
	c := newRijndael(key)
	src := []byte("kmsprobe testing")
	want := make([]byte, 16)
	got := make([]byte, 16)
	ref.Encrypt(want, src)
	c.encrypt(got, src)
	if !bytes.Equal(got, want) {
		t.Fatalf("encrypt = %x, want %x", got, want)
	}
	c.decrypt(got, want)
	if !bytes.Equal(got, src) {
		t.Fatalf("decrypt = %x, want %x", got, src)
	}
}

func TestSbox(t *testing.T) {
	if sbox[0] != 0x63 || sbox[1] != 0x7c || sbox[0x53] != 0xed || invSbox[0xed] != 0x53 {
		t.Fatalf("sbox[0]=%#x sbox[1]=%#x sbox[0x53]=%#x", sbox[0], sbox[1], sbox[0x53])
	}
}
