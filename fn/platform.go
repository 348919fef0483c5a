package main

import (
	"fmt"
	"maps"
	"strings"

	"github.com/crossplane/function-sdk-go/errors"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composite"
	"github.com/crossplane/function-sdk-go/response"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/observe"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/platform"
)

// resolvePlatform asks Crossplane for the platform-defaults
// EnvironmentConfigs and returns the XR with its spec resolved (claim >
// platform > built-in) and the effective values. It returns false when the
// response is complete: Crossplane has not sent the configs yet (it calls
// again with them), or a config or the claim breaks a platform rule (a
// fatal result, so nothing composed changes).
func resolvePlatform(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, xr *composite.Unstructured, scope *xrScope, observed observe.Resources) (*composite.Unstructured, *platform.Result, bool) {
	// Every response repeats the requirement: Crossplane calls the function
	// again until two responses ask for the same.
	rsp.Requirements = &fnv1.Requirements{Resources: map[string]*fnv1.ResourceSelector{platform.RequirementName: platform.Selector()}}
	items, resolved, err := request.GetRequiredResource(req, platform.RequirementName)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get the platform-defaults EnvironmentConfigs"))
		return nil, nil, false
	}
	if !resolved {
		return nil, nil, false
	}
	spec, ok := xr.Object["spec"].(map[string]any)
	if !ok {
		// DecodeSpec reports the missing spec.
		return xr, &platform.Result{}, true
	}

	configs, err := platform.Parse(items)
	if err != nil {
		badPlatform(rsp, err)
		return nil, nil, false
	}
	env := xr.GetLabels()[v1alpha1.LabelEnvironment]
	applicable := platform.Applicable(configs, env)
	claim := xr.GetName()
	if _, name := claimRef(xr); name != "" {
		claim = name
	}
	ns, namespaced := scope.Scope.(compose.NamespacedScope)
	res, err := platform.Resolve(platform.Input{
		Spec: spec, Configs: applicable, ObservedRegion: platform.ObservedRegion(observed), Claim: claim,
		NamespaceProviderConfig: namespaced && ns.ProviderConfigKind == compose.ProviderConfigKind,
	})
	var cfgErr *platform.ConfigError
	switch {
	case errors.As(err, &cfgErr):
		badPlatform(rsp, err)
		return nil, nil, false
	case err != nil:
		invalid(rsp, xr.GetName(), err)
		return nil, nil, false
	}
	reportPlatform(rsp, applicable, env, res.Notes)

	// The resolved XR differs from the observed one only in its spec, which
	// Resolve built afresh; the rest is shared, not copied, as nothing
	// writes to either (DecodeSpec reads only the spec).
	out := &composite.Unstructured{Unstructured: unstructured.Unstructured{Object: maps.Clone(xr.Object)}}
	out.Object["spec"] = res.Spec
	return out, res, true
}

// badPlatform reports a malformed platform-defaults EnvironmentConfig: a
// fatal result, so nothing composed changes until the platform team fixes
// it.
func badPlatform(rsp *fnv1.RunFunctionResponse, err error) {
	err = errors.Wrap(err, "invalid platform defaults")
	conditionFalse(rsp, v1alpha1.TypePlatformDefaults, v1alpha1.ReasonInvalidEnvironmentConfig).WithMessage(err.Error()).TargetCompositeAndClaim()
	response.Fatal(rsp, err)
}

// reportPlatform sets PlatformDefaults, naming the configs applied.
func reportPlatform(rsp *fnv1.RunFunctionResponse, applied []platform.Config, env string, notes []string) {
	var msg strings.Builder
	if len(applied) == 0 {
		fmt.Fprintf(&msg, "No EnvironmentConfig labelled %s=true applies", v1alpha1.LabelPlatformDefaults)
		if env != "" {
			fmt.Fprintf(&msg, " (for %s=%s)", v1alpha1.LabelEnvironment, env)
		}
		msg.WriteString(": the built-in defaults apply")
	} else {
		names := make([]string, 0, len(applied))
		for _, c := range applied {
			names = append(names, c.Name)
		}
		fmt.Fprintf(&msg, "Applied EnvironmentConfig %s, in this order (a later config wins field by field); status.effective names the source of each value", strings.Join(names, ", "))
	}
	for _, n := range notes {
		msg.WriteString("; " + n)
	}
	if len(applied) == 0 {
		conditionFalse(rsp, v1alpha1.TypePlatformDefaults, v1alpha1.ReasonNoEnvironmentConfig).WithMessage(msg.String()).TargetCompositeAndClaim()
		return
	}
	conditionTrue(rsp, v1alpha1.TypePlatformDefaults, v1alpha1.ReasonPlatformDefaultsApplied).WithMessage(msg.String()).TargetCompositeAndClaim()
}

// setEffective writes status.effective.
func setEffective(dxr *resource.Composite, res *platform.Result) error {
	if len(res.Effective) == 0 {
		return nil
	}
	list := make([]any, 0, len(res.Effective))
	for _, e := range res.Effective {
		list = append(list, map[string]any{"field": e.Field, "value": e.Value, "source": e.Source})
	}
	return errors.Wrap(setStatus(dxr.Resource, "effective", list), "cannot set status.effective")
}
