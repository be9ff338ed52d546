package kmscheck

import "fmt"

// HRESULTs a KMS client can meet (PROTOCOL.md §8).
const (
	HRUnknownProduct = 0xC004F042 // host key does not cover the KMS counted ID
	HRTimeSkew       = 0xC004F06C // request time too far from the host's clock
	HRInvalidData    = 0x8007000D // malformed request or unsupported version
	HRTableFull      = 0xC004D104
	HRCountTooLow    = 0xC004F038 // client-side: count below N
	HRNoResponse     = 0xC004F039
	HRHostNotActive  = 0xC004F041
	HRNoHost         = 0xC004F074
	HRRPCUnavailable = 0x800706BA
)

var hresultMeanings = map[uint32]string{
	HRUnknownProduct: "the KMS host cannot activate this product: its host key (CSVLK) does not cover this product's KMS ID; install a newer host key or activate this product elsewhere",
	HRTimeSkew:       "the request time is too far from the KMS host's clock (more than about 4 hours); fix the clock/NTP on the host or on this probe",
	HRInvalidData:    "the KMS host rejected the request as invalid data, typically an unsupported protocol version",
	HRTableFull:      "the KMS host's client table overflowed (an emulator's imitation of an overcharged host)",
	HRCountTooLow:    "the KMS host has not yet counted enough clients to activate",
	HRNoResponse:     "the KMS host did not respond",
	HRHostNotActive:  "the KMS host itself is not activated",
	HRNoHost:         "no KMS host could be contacted",
	HRRPCUnavailable: "the RPC server is unavailable",
}

// HRESULTMeaning says in plain words what a KMS HRESULT means.
func HRESULTMeaning(hr uint32) string {
	if m, ok := hresultMeanings[hr]; ok {
		return m
	}
	return fmt.Sprintf("an error code KMS clients do not document; look up 0x%08X with `slui 0x2a 0x%08X` on a Windows PC", hr, hr)
}

var faultMeanings = map[uint32]string{
	0x1c010003: "nca_unk_if: the service does not know the KMS interface or the context asked for",
	0x1c01000b: "nca_proto_error: the service found an RPC protocol error in the request",
	0x1c010002: "nca_op_rng_error: the service does not offer this operation",
	0x00000005: "access denied",
	0x000006f7: "the stub received bad data",
}

// FaultMeaning says in plain words what an RPC fault status means.
func FaultMeaning(st uint32) string {
	if m, ok := faultMeanings[st]; ok {
		return m
	}
	return "an RPC-level error, not a licensing decision"
}
