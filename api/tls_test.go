package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writePair(t *testing.T, dir, name string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestLoadCertificate(t *testing.T) {
	dir := t.TempDir()
	cert1, key1 := writePair(t, dir, "one")
	_, key2 := writePair(t, dir, "two")
	_, open := writePair(t, dir, "open")
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cert, key, wantErr string
	}{
		{name: "pair", cert: cert1, key: key1},
		{name: "missing cert", cert: filepath.Join(dir, "none.pem"), key: key1, wantErr: "api.tls.cert_file: open " + dir + "/none.pem: no such file or directory"},
		{name: "missing key", cert: cert1, key: filepath.Join(dir, "none.key"), wantErr: "api.tls.key_file: open " + dir + "/none.key: no such file or directory"},
		{name: "key others may read", cert: cert1, key: open, wantErr: "api.tls.key_file: " + open + " has mode 0644: users other than its owner and group may read it; chmod 0640"},
		{name: "key of another certificate", cert: cert1, key: key2, wantErr: "api.tls: cert_file " + cert1 + " and key_file " + key2 + ": tls: private key does not match public key"},
		{name: "key as certificate", cert: key1, key: key1, wantErr: "api.tls: cert_file " + key1 + " and key_file " + key1 + ": tls: failed to find certificate PEM data in certificate input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadCertificate(TLS{CertFile: tc.cert, KeyFile: tc.key})
			if tc.wantErr == "" {
				if err != nil || c.Leaf == nil || c.Leaf.Subject.CommonName != "one" {
					t.Fatalf("LoadCertificate: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("the error shows key material: %v", err)
			}
		})
	}
}
