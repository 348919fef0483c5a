package stack

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCAIssuesVerifiableCertificates(t *testing.T) {
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)

	cases := map[string]struct {
		req   CertRequest
		usage x509.ExtKeyUsage
		host  string
	}{
		"ServerOnLoopback": {CertRequest{CommonName: "fn", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true}, x509.ExtKeyUsageServerAuth, "127.0.0.1"},
		"AdminClient":      {CertRequest{CommonName: "admin", Organizations: []string{"system:masters"}, Client: true}, x509.ExtKeyUsageClientAuth, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			kp, err := ca.Issue(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			pair, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
			if err != nil {
				t.Fatalf("key pair does not match: %v", err)
			}
			cert, err := x509.ParseCertificate(pair.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: tc.host, KeyUsages: []x509.ExtKeyUsage{tc.usage}}); err != nil {
				t.Errorf("certificate does not verify against the CA: %v", err)
			}
			if diff := cmp.Diff(tc.req.Organizations, cert.Subject.Organization); diff != "" {
				t.Errorf("organizations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeYAML(t *testing.T) {
	objs, err := DecodeYAML([]byte("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# nothing\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetName())
	}
	if diff := cmp.Diff([]string{"a", "b"}, names); diff != "" {
		t.Errorf("decoded objects (-want +got):\n%s", diff)
	}
	if _, err := DecodeYAML([]byte("metadata: {name: a}\n")); err == nil {
		t.Error("a document without kind decoded without error")
	}
}
