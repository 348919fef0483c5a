// Package platform reads a platform team's defaults from Crossplane
// EnvironmentConfigs and resolves every defaultable field of a claim:
// the claim's own value, else the platform's, else the built-in default
// (v1alpha1.Default*), with the platform's enforced fields and allowed
// regions checked, and the source of each effective value recorded.
//
// Selection: every EnvironmentConfig labelled
// cicd.platform.dev/defaults=true. One without a cicd.platform.dev/environment
// label applies to every claim; one with it only to the claims (XRs) with
// the same label and value. Order, when several apply: the general ones in
// name order, then the environment's own in name order; a later config's
// value wins field by field (tags and deployer images key by key), so the
// more specific config wins. Enforced fields add up; allowed regions
// intersect.
package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/crossplane/function-sdk-go/errors"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
)

// RequirementName keys the EnvironmentConfigs in the function's
// requirements and in the request Crossplane answers them with.
const RequirementName = v1alpha1.PlatformRequirementName

// The EnvironmentConfig API Crossplane v2 serves (v1beta1 only: the v1alpha1
// version is gone from apiextensions.crossplane.io_environmentconfigs.yaml).
const (
	environmentConfigAPIVersion = "apiextensions.crossplane.io/v1beta1"
	environmentConfigKind       = "EnvironmentConfig"
)

// Selector is what the function asks Crossplane for: every platform-defaults
// EnvironmentConfig. The environment is matched here, not by the selector,
// since a label selector cannot also select configs without the label.
func Selector() *fnv1.ResourceSelector {
	return &fnv1.ResourceSelector{
		ApiVersion: environmentConfigAPIVersion,
		Kind:       environmentConfigKind,
		Match: &fnv1.ResourceSelector_MatchLabels{MatchLabels: &fnv1.MatchLabels{
			Labels: map[string]string{v1alpha1.LabelPlatformDefaults: "true"},
		}},
	}
}

// Config is one platform-defaults EnvironmentConfig.
type Config struct {
	Name string
	// Environment is its cicd.platform.dev/environment label; "" applies
	// to every claim.
	Environment string
	Data        v1alpha1.PlatformConfig
}

// ConfigError is a malformed EnvironmentConfig: the platform's mistake,
// not the claim's.
type ConfigError struct{ msg string }

func (e *ConfigError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &ConfigError{msg: fmt.Sprintf(format, args...)}
}

// Parse decodes and checks every EnvironmentConfig Crossplane returned.
func Parse(items []resource.Required) ([]Config, error) {
	out := make([]Config, 0, len(items))
	for _, it := range items {
		u := it.Resource
		c := Config{Name: u.GetName(), Environment: u.GetLabels()[v1alpha1.LabelEnvironment]}
		data, _ := u.Object["data"].(map[string]any)
		if err := decodeStrict(data, &c.Data); err != nil {
			return nil, configErrorf("EnvironmentConfig %s: %v", c.Name, err)
		}
		if err := check(c.Data); err != nil {
			return nil, configErrorf("EnvironmentConfig %s: %v", c.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeStrict decodes data into out, rejecting fields out does not have
// and naming the first such field by its path.
func decodeStrict(data map[string]any, out *v1alpha1.PlatformConfig) error {
	b, err := json.Marshal(data)
	if err != nil {
		return errors.Wrap(err, "cannot encode data")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	err = d.Decode(out)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return errors.Errorf("data.%s: Invalid value: %s, want %s", typeErr.Field, typeErr.Value, typeErr.Type)
	}
	const unknownPrefix = `json: unknown field "`
	if msg := err.Error(); strings.HasPrefix(msg, unknownPrefix) {
		name := strings.TrimSuffix(strings.TrimPrefix(msg, unknownPrefix), `"`)
		path, ok := findKey(data, "data", name)
		if !ok {
			path = "data." + name
		}
		return errors.Errorf("%s: Unsupported field: platform defaults have no such field (see the README's \"For platform teams\")", path)
	}
	return errors.Wrap(err, "data")
}

// findKey returns the path of the first key named name in m (depth first,
// in key order), for an error message.
func findKey(m map[string]any, prefix, name string) (string, bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == name {
			return prefix + "." + k, true
		}
		if sub, ok := m[k].(map[string]any); ok {
			if p, ok := findKey(sub, prefix+"."+k, name); ok {
				return p, true
			}
		}
	}
	return "", false
}
