//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
)

var environmentConfigGVK = schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v1beta1", Kind: "EnvironmentConfig"}

// effectiveOf returns the claim's status.effective as field -> "value (source)".
func effectiveOf(u *unstructured.Unstructured) map[string]string {
	out := map[string]string{}
	list, _, _ := unstructured.NestedSlice(u.Object, "status", "effective")
	for _, e := range list {
		m, _ := e.(map[string]any)
		out[fmt.Sprint(m["field"])] = fmt.Sprintf("%v (%v)", m["value"], m["source"])
	}
	return out
}

// Scenario: the platform team's EnvironmentConfig (examples/platform-defaults.yaml)
// gives the five-line minimal claim its region, tags, retention and a Deploy
// stage; changing the config updates the existing pipeline in place.
func TestPlatformDefaults(t *testing.T) {
	requirePlatform(t)
	objs := readYAML(t, filepath.Join(env.cfg.RepoRoot, "examples", "platform-defaults.yaml"))
	if len(objs) != 1 || objs[0].GroupVersionKind() != environmentConfigGVK {
		t.Fatal("examples/platform-defaults.yaml: want exactly one EnvironmentConfig")
	}
	cfg := objs[0]
	if _, err := env.client.Apply(env.ctx, cfg); err != nil {
		t.Fatalf("cannot apply the EnvironmentConfig: %v", err)
	}
	// Registered before the claim's cleanup, so it runs after it: the
	// config applies to every claim in the cluster.
	t.Cleanup(func() {
		if err := deleteObject(context.Background(), environmentConfigGVK, "", cfg.GetName()); err != nil {
			t.Logf("cannot delete the EnvironmentConfig: %v", err)
		}
	})

	run := applyClaim(t, loadClaim(t, "claim-minimal.yaml", "e2e-platform"))
	claim := waitClaimReady(t, run, "platform defaults: apply -> Ready")
	mrs := mustComposed(t, run)

	for _, c := range []string{"deployer-function", "deploy-targets-item", "email-subscription-"} {
		found := false
		for n := range mrs {
			found = found || strings.HasPrefix(n, c)
		}
		if !found {
			t.Errorf("%s is not composed: %v", c, componentNames(mrs))
		}
	}
	checkAllHealthy(t, mrs, "eu-west-1", "default", "Delete")
	checkFields(t, mrs, []fieldCheck{
		{"deployer-function", []string{"spec", "forProvider", "imageUri"}, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cicd-deployer:v1.0.0"},
		{"ecr-repository", []string{"spec", "forProvider", "tags", "cost-center"}, "cc-1234"},
		{"build-log-group", []string{"spec", "forProvider", "retentionInDays"}, int64(90)},
	})
	checkContains(t, mrs, "deploy-targets-item", []string{"spec", "forProvider", "item"}, `\"functionName\":\"shop-dev\"`)
	stages, _, _ := unstructured.NestedSlice(mrs["pipeline"].Object, "spec", "forProvider", "stage")
	var names []string
	for _, s := range stages {
		m, _ := s.(map[string]any)
		names = append(names, fmt.Sprint(m["name"]))
	}
	if !slices.Contains(names, "Deploy") {
		t.Errorf("pipeline stages %v: want a Deploy stage", names)
	}
	checkConditions(t, claim, map[string]string{"Ready": "True", string(v1alpha1.TypeDeployStage): "True", string(v1alpha1.TypePlatformDefaults): "True"})
	eff := effectiveOf(claim)
	for k, want := range map[string]string{
		"region":           "eu-west-1 (observed)",
		"deployer.image":   "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cicd-deployer:v1.0.0 (platform:acme-platform)",
		"tags.cost-center": "cc-1234 (platform:acme-platform)",
	} {
		if eff[k] != want {
			t.Errorf("status.effective[%s]: want %s, got %s", k, want, eff[k])
		}
	}

	// The platform team changes its config: the existing pipeline follows
	// (on Crossplane's next reconcile), in place; its region does not move.
	changed := cfg.DeepCopy()
	mustSet(t, changed, int64(180), "data", "defaults", "logs", "retentionDays")
	mustSet(t, changed, "cc-5678", "data", "defaults", "tags", "cost-center")
	mustSet(t, changed, "eu-central-1", "data", "defaults", "region")
	changedAt := time.Now()
	if _, err := env.client.Apply(env.ctx, changed); err != nil {
		t.Fatalf("cannot update the EnvironmentConfig: %v", err)
	}
	var after map[string]*unstructured.Unstructured
	took := eventually(t, 2*readyTimeout, "the EnvironmentConfig change never reached the managed resources", func(ctx context.Context) error {
		got, err := composedResources(ctx, run)
		if err != nil {
			return err
		}
		if r, _, _ := unstructured.NestedInt64(got["build-log-group"].Object, "spec", "forProvider", "retentionInDays"); r != 180 {
			return fmt.Errorf("build log group retention = %d", r)
		}
		if tag := nestedString(got["ecr-repository"], "spec", "forProvider", "tags", "cost-center"); tag != "cc-5678" {
			return fmt.Errorf("repository tag cost-center = %q", tag)
		}
		after = got
		return nil
	})
	env.recordf("%-44s %s", "platform: config change -> resources changed:", took.Round(time.Millisecond))
	t.Logf("the config change reached the managed resources %s after apply", time.Since(changedAt).Round(time.Millisecond))
	for n, u := range mrs {
		a, ok := after[n]
		if !ok {
			t.Errorf("%s disappeared after the config change", n)
			continue
		}
		if a.GetUID() != u.GetUID() {
			t.Errorf("%s was replaced after the config change", n)
		}
		if r := nestedString(a, "spec", "forProvider", "region"); r != "" && r != "eu-west-1" {
			t.Errorf("%s moved to region %s: a pipeline's region never changes", n, r)
		}
	}
	waitCondition(t, since(run), string(v1alpha1.TypePlatformDefaults), "True", "the region stays eu-west-1")
	waitClaimReady(t, since(run), "platform: config changed -> claim Ready")
}
