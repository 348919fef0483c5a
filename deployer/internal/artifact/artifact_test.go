package artifact

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
)

const digestURI = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// file is one entry of a test zip; entries are written in the order given,
// which is the order ImageFromZip meets them.
type file struct{ name, content string }

func zipOf(t *testing.T, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, entry := range files {
		f, err := w.Create(entry.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(entry.content)); err != nil {
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
			data: zipOf(t, file{"imageDetail.json", `{"ImageURI":"` + digestURI + `"}`}, file{"other.txt", "x"}),
			want: Image{URI: digestURI, Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		},
		"the shallowest one wins": {
			data: zipOf(t,
				file{"a/b/imageDetail.json", `{"ImageURI":"bad"}`},
				file{"a/imageDetail.json", `{"ImageURI":"` + digestURI + `"}`},
			),
			want: Image{URI: digestURI, Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		},
		"the shallowest one wins when it comes first": {
			data: zipOf(t,
				file{"imageDetail.json", `{"ImageURI":"` + digestURI + `"}`},
				file{"sub/imageDetail.json", `{"ImageURI":"bad"}`},
			),
			want: Image{URI: digestURI, Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		},
		"a folder named imageDetail.json is not the file": {
			data: zipOf(t,
				file{"imageDetail.json/", ""},
				file{"a/imageDetail.json", `{"ImageURI":"` + digestURI + `"}`},
			),
			want: Image{URI: digestURI, Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		},
		// Which of two images to deploy would be the archive's order.
		"two at the shallowest depth": {
			data: zipOf(t,
				file{"a/imageDetail.json", `{"ImageURI":"` + digestURI + `"}`},
				file{"b/imageDetail.json", `{"ImageURI":"111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:v1.2"}`},
			),
			wantError: "more than one imageDetail.json at the same depth (a/imageDetail.json and b/imageDetail.json)",
		},
		"two at the root": {
			data: zipOf(t,
				file{"imageDetail.json", `{"ImageURI":"` + digestURI + `"}`},
				file{"imageDetail.json", `{"ImageURI":"` + digestURI + `"}`},
			),
			wantError: "more than one imageDetail.json at the same depth",
		},
		"a tie below the shallowest one does not matter": {
			data: zipOf(t,
				file{"a/imageDetail.json", `{"ImageURI":"bad"}`},
				file{"b/imageDetail.json", `{"ImageURI":"bad"}`},
				file{"imageDetail.json", `{"ImageURI":"` + digestURI + `"}`},
			),
			want: Image{URI: digestURI, Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		},
		// The size limit is inclusive: the padding before the JSON makes a
		// file cut short by one byte invalid JSON, not a smaller one.
		"imageDetail.json of exactly the size limit": {
			data: zipOf(t, file{"imageDetail.json", padded(`{"ImageURI":"`+digestURI+`"}`, maxImageDetailBytes)}),
			want: Image{URI: digestURI, Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		},
		"imageDetail.json one byte over the size limit": {
			data:      zipOf(t, file{"imageDetail.json", padded(`{"ImageURI":"`+digestURI+`"}`, maxImageDetailBytes+1)}),
			wantError: "imageDetail.json is larger than 65536 bytes",
		},
		"by tag": {
			data: zipOf(t, file{"imageDetail.json", `{"ImageURI":"111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:v1.2"}`}),
			want: Image{URI: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:v1.2"},
		},
		"missing file": {
			data:      zipOf(t, file{"other.txt", "x"}),
			wantError: "the artifact has no imageDetail.json",
		},
		"not a zip": {
			data:      []byte("hello"),
			wantError: "not a zip file",
		},
		"not JSON": {
			data:      zipOf(t, file{"imageDetail.json", `ImageURI=x`}),
			wantError: "is not valid JSON",
		},
		"no ImageURI": {
			data:      zipOf(t, file{"imageDetail.json", `{"uri":"x"}`}),
			wantError: "has no ImageURI",
		},
		"not ECR": {
			data:      zipOf(t, file{"imageDetail.json", `{"ImageURI":"docker.io/library/nginx:latest"}`}),
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

// padded puts spaces before content so that it is size bytes long.
func padded(content string, size int) string {
	return strings.Repeat(" ", size-len(content)) + content
}

// objectStore answers GetObject with body for bucket/key, or with err.
type objectStore struct {
	bucket, key string
	body        []byte
	err         error
}

func (s *objectStore) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if s.err != nil {
		return nil, s.err
	}
	if aws.ToString(in.Bucket) != s.bucket || aws.ToString(in.Key) != s.key {
		return nil, fmt.Errorf("NoSuchKey: s3://%s/%s", aws.ToString(in.Bucket), aws.ToString(in.Key))
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(s.body))}, nil
}

func TestReadImage(t *testing.T) {
	artifactZip := zipOf(t, file{"imageDetail.json", `{"ImageURI":"` + digestURI + `"}`})
	cases := map[string]struct {
		store     *objectStore
		want      Image
		wantError string
	}{
		"the artifact at bucket/key": {
			store: &objectStore{bucket: "artifacts", key: "pipe/BuildOutput/abc.zip", body: artifactZip},
			want:  Image{URI: digestURI, Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		},
		"download fails": {
			store:     &objectStore{err: errors.New("AccessDenied")},
			wantError: "downloading the input artifact s3://artifacts/pipe/BuildOutput/abc.zip: AccessDenied",
		},
		"not a zip": {
			store:     &objectStore{bucket: "artifacts", key: "pipe/BuildOutput/abc.zip", body: []byte("hello")},
			wantError: "reading the input artifact s3://artifacts/pipe/BuildOutput/abc.zip: the artifact is not a zip file",
		},
		// The size limit is inclusive: an artifact of exactly the limit is
		// read (and refused only for not being a zip).
		"exactly the size limit": {
			store:     &objectStore{bucket: "artifacts", key: "pipe/BuildOutput/abc.zip", body: make([]byte, maxArtifactBytes)},
			wantError: "the artifact is not a zip file",
		},
		"one byte over the size limit": {
			store:     &objectStore{bucket: "artifacts", key: "pipe/BuildOutput/abc.zip", body: make([]byte, maxArtifactBytes+1)},
			wantError: "the input artifact s3://artifacts/pipe/BuildOutput/abc.zip is larger than 67108864 bytes",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ReadImage(context.Background(), tc.store, "artifacts", "pipe/BuildOutput/abc.zip")
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("ReadImage() error = %v, want it to contain %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadImage() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ReadImage() (-want +got):\n%s", diff)
			}
		})
	}
}
