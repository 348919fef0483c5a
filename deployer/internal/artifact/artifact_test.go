package artifact

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const digestURI = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, content := range files {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImageFromZip(t *testing.T) {
	cases := map[string]struct {
		data      []byte
		want      Image
		wantError string
	}{
		"at the root": {
			data: zipOf(t, map[string]string{"imageDetail.json": `{"ImageURI":"` + digestURI + `"}`, "other.txt": "x"}),
			want: Image{URI: digestURI, Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		},
		"the shallowest one wins": {
			data: zipOf(t, map[string]string{
				"a/b/imageDetail.json": `{"ImageURI":"bad"}`,
				"a/imageDetail.json":   `{"ImageURI":"` + digestURI + `"}`,
			}),
			want: Image{URI: digestURI, Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		},
		"by tag": {
			data: zipOf(t, map[string]string{"imageDetail.json": `{"ImageURI":"111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:v1.2"}`}),
			want: Image{URI: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:v1.2"},
		},
		"missing file": {
			data:      zipOf(t, map[string]string{"other.txt": "x"}),
			wantError: "the artifact has no imageDetail.json",
		},
		"not a zip": {
			data:      []byte("hello"),
			wantError: "not a zip file",
		},
		"not JSON": {
			data:      zipOf(t, map[string]string{"imageDetail.json": `ImageURI=x`}),
			wantError: "is not valid JSON",
		},
		"no ImageURI": {
			data:      zipOf(t, map[string]string{"imageDetail.json": `{"uri":"x"}`}),
			wantError: "has no ImageURI",
		},
		"not ECR": {
			data:      zipOf(t, map[string]string{"imageDetail.json": `{"ImageURI":"docker.io/library/nginx:latest"}`}),
			wantError: "is not an ECR image reference",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ImageFromZip(tc.data)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("ImageFromZip() error = %v, want it to contain %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("ImageFromZip() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ImageFromZip() (-want +got):\n%s", diff)
			}
		})
	}
}
