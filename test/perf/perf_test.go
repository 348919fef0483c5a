package main

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"text/template"
	"time"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/fnrequest"
)

// recordedResponse is the function's response pinned by fn's
// TestResponsesUnchanged for the full example's round.
func recordedResponse(t *testing.T, round string) *fnv1.RunFunctionResponse {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "fn", "testdata", "responses", "full-"+round+".binpb"))
	if err != nil {
		t.Fatal(err)
	}
	rsp := &fnv1.RunFunctionResponse{}
	if err := proto.Unmarshal(b, rsp); err != nil {
		t.Fatal(err)
	}
	return rsp
}

// render executes the template as function-go-templating does: the request
// as a map (through its JSON form) and getResourceCondition reading an
// observed resource's condition.
func render(t *testing.T, tmpl string, req *fnv1.RunFunctionRequest) map[string]map[string]any {
	t.Helper()
	j, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	if err := json.Unmarshal(j, &data); err != nil {
		t.Fatal(err)
	}
	// The template uses no sprig function, only getResourceCondition.
	funcs := template.FuncMap{}
	funcs["getResourceCondition"] = func(ct string, res map[string]any) map[string]any {
		r, _ := res["resource"].(map[string]any)
		status, _ := r["status"].(map[string]any)
		conds, _ := status["conditions"].([]any)
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == ct {
				return map[string]any{"Status": m["status"]}
			}
		}
		return map[string]any{"Status": "Unknown"}
	}
	tp, err := template.New("manifests").Funcs(funcs).Parse(tmpl)
	if err != nil {
		t.Fatalf("the template does not parse: %v", err)
	}
	var out bytes.Buffer
	if err := tp.Execute(&out, data); err != nil {
		t.Fatalf("the template does not execute: %v", err)
	}
	docs, err := fnrequest.Documents(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal(d, &m); err != nil {
			t.Fatal(err)
		}
		md, _ := m["metadata"].(map[string]any)
		a, _ := md["annotations"].(map[string]any)
		name, _ := a[annotationName].(string)
		if name == "" {
			name = "composite"
		}
		delete(a, annotationName)
		if md != nil && len(a) == 0 {
			delete(md, "annotations")
		}
		got[name] = m
	}
	return got
}

// TestGoTemplateEmitsTheFunctionsOutput checks that the template the
// comparison gives function-go-templating emits exactly the function's
// composed resources and readiness, on create and on reconcile, so the two
// do the same job.
func TestGoTemplateEmitsTheFunctionsOutput(t *testing.T) {
	create, reconcile, err := fnrequest.Example(filepath.Join("..", "..", "examples"), "full")
	if err != nil {
		t.Fatal(err)
	}
	createRsp, reconcileRsp := recordedResponse(t, "create"), recordedResponse(t, "observed")
	tmpl, err := goTemplate(createRsp, reconcileRsp, reconcile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  *fnv1.RunFunctionRequest
		want *fnv1.RunFunctionResponse
	}{
		{name: "create", req: create, want: createRsp},
		{name: "reconcile", req: reconcile, want: reconcileRsp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tmpl, tc.req)
			want := map[string]map[string]any{}
			for name, r := range tc.want.GetDesired().GetResources() {
				m := r.GetResource().AsMap()
				ready := "False"
				if r.GetReady() == fnv1.Ready_READY_TRUE {
					ready = "True"
				}
				md, _ := m["metadata"].(map[string]any)
				a, _ := md["annotations"].(map[string]any)
				if a == nil {
					a = map[string]any{}
					md["annotations"] = a
				}
				a[annotationReady] = ready
				want[name] = m
			}
			if status := tc.want.GetDesired().GetComposite().GetResource().GetFields()["status"]; status != nil && tc.name == "reconcile" {
				x := tc.req.GetObserved().GetComposite().GetResource().AsMap()
				want["composite"] = map[string]any{"apiVersion": x["apiVersion"], "kind": x["kind"], "status": status.GetStructValue().AsMap()}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the template's output differs from the function's: -function, +template:\n%s", diff)
			}
		})
	}
}

func TestCPUTimeAndPeakRSS(t *testing.T) {
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the tick-granular counter moves (bounded).
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x += i
		}
		if after, err := cpuTime(os.Getpid()); err == nil && after > before {
			break
		}
	}
	after, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("cpuTime did not grow while the process ran (%v, then %v; %d)", before, after, x)
	}
	peak, anon, file, err := memoryKB(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if anon <= 0 || file <= 0 || peak < anon+file {
		t.Errorf("memoryKB = peak %d KB, anon %d KB, file %d KB; want positive sizes, the peak at least their sum", peak, anon, file)
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {0.1, 1}, {0, 1}, {1, 10}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

// TestMappedSections: the test binary's own mapped sections are its
// sections, the code it runs is among them, and their sum is what
// /proc/self/status counts as the binary's resident pages at most.
func TestMappedSections(t *testing.T) {
	got, err := mappedSections(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sum int64
	for name, n := range got {
		if f.Section(name) == nil && name != "other" {
			t.Errorf("%s is not a section of %s", name, exe)
		}
		sum += n
	}
	if got[".text"] == 0 || got[".rodata"] == 0 {
		t.Errorf("no .text or .rodata mapped: %v", got)
	}
	_, _, file, err := memoryKB(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if sum > file*1024 {
		t.Errorf("%d bytes of sections mapped, more than RssFile's %d KB", sum, file)
	}
	if s := formatSections(map[string]int64{".b": 1 << 20, ".a": 1 << 20, ".text": 3 << 20}); s != ".text 3.00, .a 1.00, .b 1.00" {
		t.Errorf("formatSections: %q", s)
	}
}
