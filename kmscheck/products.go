package kmscheck

import (
	"fmt"
	"sort"
	"strings"
)

// Application IDs select the host's count pool (PROTOCOL.md §10).
var (
	AppWindows    = mustUUID("55c92734-d682-4d71-983e-d6ec3f16059f")
	AppOffice2010 = mustUUID("59a52881-a989-479d-af46-f275c6370663")
	AppOffice2013 = mustUUID("0ff1ce15-a989-479d-af46-f275c6370663")
)

// Product is a volume-licensed edition a KMS client can ask for.
type Product struct {
	Key      string // short flag-friendly name, e.g. "win10-ent"
	Name     string // display name, e.g. "Windows 10/11 Enterprise"
	AppID    UUID
	SKUID    UUID
	KMSID    UUID // KMS counted ID: what the host checks against its host key
	N        int  // activation threshold: clients activate once the host counts N
	Protocol int  // the KMS protocol version real clients of this product speak
}

// DefaultProduct is what a school PC most often is.
const DefaultProduct = "win10-ent"

// The table follows PROTOCOL.md §10. Windows 11 shares the Windows 10
// editions' IDs; several products share a KMS counted ID and so a count pool.
var products = []Product{
	{"win10-ent", "Windows 10/11 Enterprise", AppWindows, mustUUID("73111121-5638-40f6-bc11-f1d7b0d64300"), mustUUID("58e2134f-8e11-4d17-9cb2-91069c151148"), 25, 6},
	{"win10-pro", "Windows 10/11 Pro", AppWindows, mustUUID("2de67392-b7a7-462a-b1ca-108dd189f588"), mustUUID("58e2134f-8e11-4d17-9cb2-91069c151148"), 25, 6},
	{"win10-edu", "Windows 10/11 Education", AppWindows, mustUUID("e0c42288-980c-4788-a014-c080d2e1926e"), mustUUID("58e2134f-8e11-4d17-9cb2-91069c151148"), 25, 6},
	{"win10-proedu", "Windows 10/11 Pro Education", AppWindows, mustUUID("3f1afc82-f8ac-4f6c-8005-1d233e606eee"), mustUUID("58e2134f-8e11-4d17-9cb2-91069c151148"), 25, 6},
	{"win10-ltsc", "Windows 10 Enterprise LTSC 2019/2021", AppWindows, mustUUID("32d2fab3-e4a8-42c2-923b-4bf4fd13e6ee"), mustUUID("11b15659-e603-4cf1-9c1f-f0ec01b81888"), 25, 6},
	{"ws2019-std", "Windows Server 2019 Standard", AppWindows, mustUUID("de32eafd-aaee-4662-9444-c1befb41bde2"), mustUUID("8449b1fb-f0ea-497a-99ab-66ca96e9a0f5"), 5, 6},
	{"ws2019-dc", "Windows Server 2019 Datacenter", AppWindows, mustUUID("34e1ae55-27f8-4950-8877-7a03be5fb181"), mustUUID("8449b1fb-f0ea-497a-99ab-66ca96e9a0f5"), 5, 6},
	{"ws2022-std", "Windows Server 2022 Standard", AppWindows, mustUUID("9bd77860-9b31-4b7b-96ad-2564017315bf"), mustUUID("b74263e4-0f92-46c6-bcf8-c11d5efe2959"), 5, 6},
	{"ws2022-dc", "Windows Server 2022 Datacenter", AppWindows, mustUUID("ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03"), mustUUID("b74263e4-0f92-46c6-bcf8-c11d5efe2959"), 5, 6},
	{"ws2025-std", "Windows Server 2025 Standard", AppWindows, mustUUID("7dc26449-db21-4e09-ba37-28f2958506a6"), mustUUID("4b83307d-7788-50ff-8d1f-1861915bdb9d"), 5, 6},
	{"office2019-proplus", "Office Professional Plus 2019", AppOffice2013, mustUUID("85dd8b5f-eaa4-4af3-a628-cce9e77c9a03"), mustUUID("617d9eb1-ef36-4f82-86e0-a65ae07b96c6"), 5, 6},
	{"office2019-std", "Office Standard 2019", AppOffice2013, mustUUID("6912a74b-a5fb-401a-bfdb-2e3ab46f4b02"), mustUUID("617d9eb1-ef36-4f82-86e0-a65ae07b96c6"), 5, 6},
	{"office2021-proplus", "Office LTSC Professional Plus 2021", AppOffice2013, mustUUID("fbdb3e18-a8ef-4fb3-9183-dffd60bd0984"), mustUUID("86d50b16-4808-41af-b83b-b338274318b2"), 5, 6},
	{"office2021-std", "Office LTSC Standard 2021", AppOffice2013, mustUUID("080a45c5-9f9f-49eb-b4b0-c3c610a5ebd3"), mustUUID("86d50b16-4808-41af-b83b-b338274318b2"), 5, 6},
	{"win7-ent", "Windows 7 Enterprise", AppWindows, mustUUID("ae2ee509-1b34-41c0-acb7-6d4650168915"), mustUUID("7fde5219-fbfa-484a-82c9-34d1ad53e856"), 25, 4},
	{"office2013-proplus", "Office Professional Plus 2013", AppOffice2013, mustUUID("b322da9c-a2e2-4058-9e4e-f59a6970bd69"), mustUUID("e6a6f1bf-9d40-40c3-aa9f-c77ba21578c0"), 5, 5},
}

// Products lists the known products in table order (most common first).
func Products() []Product { return append([]Product(nil), products...) }

// ProductKeys lists the short names, sorted, for flag help and config errors.
func ProductKeys() []string {
	ks := make([]string, len(products))
	for i, p := range products {
		ks[i] = p.Key
	}
	sort.Strings(ks)
	return ks
}

// LookupProduct finds a product by its short key or display name, ignoring
// case. The empty name is the default product.
func LookupProduct(name string) (Product, error) {
	n := strings.TrimSpace(name)
	if n == "" {
		n = DefaultProduct
	}
	for _, p := range products {
		if strings.EqualFold(p.Key, n) || strings.EqualFold(p.Name, n) {
			return p, nil
		}
	}
	return Product{}, fmt.Errorf("kmscheck: unknown product %q; use one of %s", name, strings.Join(ProductKeys(), ", "))
}

// Class says which threshold family a product belongs to, for messages.
func (p Product) Class() string {
	switch {
	case p.AppID != AppWindows:
		return "Office"
	case p.N == 5:
		return "Windows Server"
	default:
		return "Windows client"
	}
}

// ProductNames lists the short names, sorted, for flag help and config errors.
func ProductNames() []string { return ProductKeys() }

// LookupProducts resolves several names (kms.products), dropping blanks
// and duplicates; none at all is the default product.
func LookupProducts(names []string) ([]Product, error) {
	var out []Product
	seen := map[string]bool{}
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			continue
		}
		p, err := LookupProduct(n)
		if err != nil {
			return nil, err
		}
		if !seen[p.Key] {
			seen[p.Key] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		p, _ := LookupProduct(DefaultProduct)
		out = []Product{p}
	}
	return out, nil
}
