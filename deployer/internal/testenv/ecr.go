package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Image manifest media types ("Image manifest format support", Amazon ECR
// User Guide; OCI image spec).
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeOCIManifest        = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex           = "application/vnd.oci.image.index.v1+json"
)

// StartStrictECR starts a proxy in front of moto's ECR that answers
// BatchGetImage as ECR does for a caller that does not accept an image's
// manifest media type, which moto ignores ("The parameter
// AcceptedMediaTypes has not yet been implemented"): ECR returns no
// manifest for it. The BatchGetImage API reference lists the single-image
// manifest types as acceptedMediaTypes' values; the stand-in takes them as
// the default, so a manifest list or an OCI image index (what docker buildx
// pushes with provenance attestations) is returned only to a caller that
// asks for its type, and is otherwise a failure (ImageNotFound). It points
// the AWS SDK's ECR client at the proxy; clients built before keep talking
// to moto directly.
func StartStrictECR(t *testing.T) {
	t.Helper()
	if motoServer == nil {
		t.Fatal(MissingMotoMessage)
	}
	target, err := url.Parse(motoServer.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".BatchGetImage") {
			forward.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var in struct {
			AcceptedMediaTypes []string `json:"acceptedMediaTypes"`
		}
		_ = json.Unmarshal(body, &in)
		accepted := in.AcceptedMediaTypes
		if len(accepted) == 0 {
			accepted = []string{"application/vnd.docker.distribution.manifest.v1+json", MediaTypeDockerManifest, MediaTypeOCIManifest}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		recorder := httptest.NewRecorder()
		forward.ServeHTTP(recorder, r)
		copyResponse(w, recorder, func(out map[string]any) {
			images, _ := out["images"].([]any)
			failures, _ := out["failures"].([]any)
			kept := []any{}
			for _, image := range images {
				fields, _ := image.(map[string]any)
				mediaType, _ := fields["imageManifestMediaType"].(string)
				if mediaType == "" {
					var manifest struct {
						MediaType string `json:"mediaType"`
					}
					text, _ := fields["imageManifest"].(string)
					_ = json.Unmarshal([]byte(text), &manifest)
					mediaType = manifest.MediaType
				}
				if slices.Contains(accepted, mediaType) {
					kept = append(kept, image)
					continue
				}
				failures = append(failures, map[string]any{
					"imageId": fields["imageId"], "failureCode": "ImageNotFound",
					"failureReason": "Requested image not found in an accepted media type",
				})
			}
			out["images"], out["failures"] = kept, failures
		})
	}))
	t.Cleanup(server.Close)
	t.Setenv("AWS_ENDPOINT_URL_ECR", server.URL)
}
