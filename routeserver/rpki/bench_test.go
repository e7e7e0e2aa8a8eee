package rpki_test

// Reproduce with:
//
//	go test -run '^$' -bench . -benchmem ./routeserver/rpki/
//
// Each benchmark has an anchor beside it, so that results read as a ratio:
// ParseVRPs against encoding/json decoding the same document into generic
// maps, and a Reset Query answer against copying as many octets over a
// loopback TCP connection.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"slices"
	"testing"

	"github.com/osrg/gobgp/v4/pkg/packet/rtr"

	"github.com/ixpd/ixpd/routeserver/rpki"
)

const benchVRPs = 500_000

func BenchmarkParseVRPs(b *testing.B) {
	data := vrpJSON(syntheticVRPs(benchVRPs))
	b.Run("ParseVRPs", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			vrps, err := rpki.ParseVRPs(bytes.NewReader(data))
			if err != nil || len(vrps) != benchVRPs {
				b.Fatalf("%d VRPs, %v", len(vrps), err)
			}
		}
	})
	b.Run("anchor=json.Unmarshal-any", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var doc map[string]any
			if err := json.Unmarshal(data, &doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCacheSet500k replaces a set of 500k VRPs with one where 1000
// VRPs differ, back and forth, with a router connected: sorted, as
// ParseVRPs returns them, and in no order. The anchor copies the 500k
// VRPs, which any Set has to do.
func BenchmarkCacheSet500k(b *testing.B) {
	all := syntheticVRPs(benchVRPs + 1000)
	unsorted := [2][]rpki.VRP{all[:benchVRPs], all[1000:]}
	sorted := [2][]rpki.VRP{sortedCopy(unsorted[0]), sortedCopy(unsorted[1])}
	for _, bench := range []struct {
		name string
		sets [2][]rpki.VRP
	}{{"sorted", sorted}, {"unsorted", unsorted}} {
		b.Run(bench.name, func(b *testing.B) {
			cache, addr := startCache(b)
			cache.Set(bench.sets[1])
			c := dial(b, addr)
			c.resetQuery(1)
			c.readResponse(1)
			go func() { _, _ = io.Copy(io.Discard, c.conn) }() // notifications
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, added, removed := cache.Set(bench.sets[i%2]); added != 1000 || removed != 1000 {
					b.Fatalf("added %d, removed %d", added, removed)
				}
				i++
			}
		})
	}
	b.Run("anchor=clone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(slices.Clone(sorted[0])) != benchVRPs {
				b.Fatal("short clone")
			}
		}
	})
}

// BenchmarkResetQuery500k sends 500k VRPs to one router.
func BenchmarkResetQuery500k(b *testing.B) {
	vrps := syntheticVRPs(benchVRPs)
	var size int64
	for _, v := range vrps {
		if v.Prefix.Addr().Is4() {
			size += rtr.RTR_IPV4_PREFIX_LEN
		} else {
			size += rtr.RTR_IPV6_PREFIX_LEN
		}
	}
	b.Run("ResetQuery", func(b *testing.B) {
		cache, addr := startCache(b)
		cache.Set(vrps)
		c := dial(b, addr)
		c.resetQuery(1)
		if resp := c.readResponse(1); len(resp.announce) != benchVRPs { // checks the PDUs once
			b.Fatalf("%d VRPs", len(resp.announce))
		}
		b.SetBytes(size)
		header := make([]byte, 8)
		for b.Loop() {
			c.resetQuery(1)
			// Skim the answer: headers only.
			prefixes := 0
			for header[1] = 0; header[1] != rtr.RTR_END_OF_DATA; {
				if _, err := io.ReadFull(c.r, header); err != nil {
					b.Fatal(err)
				}
				if _, err := c.r.Discard(int(binary.BigEndian.Uint32(header[4:8])) - 8); err != nil {
					b.Fatal(err)
				}
				if header[1] == rtr.RTR_IPV4_PREFIX || header[1] == rtr.RTR_IPV6_PREFIX {
					prefixes++
				}
			}
			if prefixes != benchVRPs {
				b.Fatalf("%d prefixes", prefixes)
			}
		}
	})
	b.Run("anchor=tcp-copy", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = ln.Close() }()
		payload := make([]byte, size)
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer func() { _ = conn.Close() }()
			buf := make([]byte, 1)
			for {
				if _, err := conn.Read(buf); err != nil {
					return
				}
				if _, err := conn.Write(payload); err != nil {
					return
				}
			}
		}()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		b.SetBytes(size)
		buf := make([]byte, 64<<10)
		for b.Loop() {
			if _, err := conn.Write([]byte{0}); err != nil {
				b.Fatal(err)
			}
			for got := int64(0); got < size; {
				n, err := conn.Read(buf)
				if err != nil {
					b.Fatal(err)
				}
				got += int64(n)
			}
		}
	})
}
