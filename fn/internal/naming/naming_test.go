package naming

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFor(t *testing.T) {
	cases := map[string]struct {
		reason  string
		xr      string
		suffix  string
		want    map[string]string
		wantErr string
	}{
		"Claim": {
			reason: "Names are {xr}-{purpose}-{suffix}; the XR name carries Crossplane's random suffix.",
			xr:     "shop-x7k2p", suffix: "dev",
			want: map[string]string{"bucket": "shop-x7k2p-artifacts-dev", "connection": "shop-x7k2p-src-dev", "role": "shop-x7k2p-cross-account-dev"},
		},
		"Dots": {
			reason: "Dots, valid in Kubernetes names, become dashes.",
			xr:     "shop.web-x7k2p", suffix: "dev",
			want: map[string]string{"bucket": "shop-web-x7k2p-artifacts-dev", "connection": "shop-web-x7k2p-src-dev", "role": "shop-web-x7k2p-cross-account-dev"},
		},
		"ConnectionTooLong": {
			reason: "The tightest limit (CodeStar connections, 32) names the resource and the excess.",
			xr:     "checkout-service-x7k2p", suffix: "staging",
			wantErr: `metadata.name: the CodeStar connection name "checkout-service-x7k2p-src-staging" would be 34 characters, 2 over AWS's limit of 32; shorten the claim's name (metadata.name) or spec.environmentSuffix by at least 2 characters`,
		},
		"Empty": {
			reason:  "An XR without a name is an error, not a panic.",
			xr:      "",
			wantErr: "metadata.name: the composite resource has no name",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			n, err := For(tc.xr, tc.suffix)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("%s\nwant error %q, got %v", tc.reason, tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s\nunexpected error: %v", tc.reason, err)
			}
			got := map[string]string{"bucket": n.ArtifactBucket, "connection": n.Connection, "role": n.CrossAccountRole}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestLongestAcceptedNames: a claim name of 18 characters fits every limit
// with a 3-character suffix; one more character does not.
func TestLongestAcceptedNames(t *testing.T) {
	claim := strings.Repeat("a", 18)
	if _, err := For(claim+"-x7k2p", "dev"); err != nil {
		t.Errorf("an 18-character claim name must fit: %v", err)
	}
	if _, err := For(claim+"a-x7k2p", "dev"); err == nil {
		t.Error("a 19-character claim name must not fit the connection name")
	}
}
