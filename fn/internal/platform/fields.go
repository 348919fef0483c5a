package platform

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/crossplane/function-sdk-go/errors"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
)

// Paths under spec of the fields a platform defaults with a value of the
// same shape as the claim's (the deployer image, its targets and tags have
// their own rules).
const (
	fieldRegion              = "region"
	fieldProviderConfigName  = "providerConfigName"
	fieldDeletionPolicy      = "deletionPolicy"
	fieldManagementPolicies  = "managementPolicies"
	fieldTags                = "tags"
	fieldBuildImage          = "build.image"
	fieldBuildKitImage       = "build.buildkitImage"
	fieldTestImage           = "test.image"
	fieldLogRetention        = "logs.retentionDays"
	fieldEmails              = "notifications.emails"
	fieldReservedConcurrency = "deployer.reservedConcurrency"
	fieldDeployerImage       = "deployer.image"
	fieldDeployerTargets     = "deployer.targets"
	fieldTrustedAccounts     = "crossAccount.trustedAccountIds"
	fieldOrganizationID      = "crossAccount.organizationId"
	fieldCrossAccountFns     = "crossAccount.functionNames"
)

// plainFields are defaulted as a whole: the claim's value, else the
// platform's, else the built-in one (builtins).
var plainFields = []string{
	fieldProviderConfigName, fieldDeletionPolicy, fieldManagementPolicies,
	fieldBuildImage, fieldBuildKitImage, fieldTestImage, fieldLogRetention,
	fieldEmails, fieldReservedConcurrency,
}

// crossAccountFields are defaulted only for a claim that asks for a
// cross-account role (sets crossAccount.functionNames): on any other claim
// they would make the XRD's rules demand the role's other fields.
var crossAccountFields = []string{fieldTrustedAccounts, fieldOrganizationID}

// enforceable are the fields a platform may enforce.
var enforceable = map[string]bool{
	fieldRegion: true, fieldProviderConfigName: true, fieldDeletionPolicy: true,
	fieldManagementPolicies: true, fieldTags: true, fieldBuildImage: true,
	fieldBuildKitImage: true, fieldTestImage: true, fieldLogRetention: true,
	fieldEmails: true, fieldReservedConcurrency: true,
}

// builtins are the built-in defaults, in the JSON form of an XR's spec.
func builtins() map[string]any {
	mp := make([]any, 0, 1)
	for _, p := range v1alpha1.DefaultManagementPolicies() {
		mp = append(mp, p)
	}
	return map[string]any{
		fieldRegion:             v1alpha1.DefaultRegion,
		fieldProviderConfigName: v1alpha1.DefaultProviderConfigName,
		fieldDeletionPolicy:     v1alpha1.DefaultDeletionPolicy,
		fieldManagementPolicies: mp,
		fieldLogRetention:       float64(v1alpha1.DefaultLogRetentionDays),
		fieldBuildImage:         v1alpha1.DefaultBuildImage,
		fieldBuildKitImage:      v1alpha1.DefaultBuildKitImage,
		fieldTestImage:          v1alpha1.DefaultTestImage,
	}
}

// accountID is the form of an AWS account ID: "exactly 12 digits"
// (AccountId in DescribeAccount, AWS Organizations API Reference,
// https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeAccount.html).
var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// Placeholders of PlatformDeployer.TargetFunctionName.
const (
	placeholderClaim       = "{claim}"
	placeholderEnvironment = "{environment}"
)

var placeholder = regexp.MustCompile(`\{[^}]*\}`)

// check validates one config's values against the XRD's schema of the claim
// fields they default (pattern, enum, limits, the fields' own CEL rules),
// and its enforced fields and allowed regions.
func check(c v1alpha1.PlatformConfig) error {
	defaults, err := asMap(c.Defaults)
	if err != nil {
		return err
	}
	for _, p := range append(append([]string{fieldRegion, fieldTags}, plainFields...), crossAccountFields...) {
		v, ok := get(defaults, p)
		if !ok {
			continue
		}
		if err := validateField(p, v, "data.defaults."+p); err != nil {
			return err
		}
	}
	for _, region := range sortedKeys(c.Defaults.Deployer.Images) {
		image := c.Defaults.Deployer.Images[region]
		at := fmt.Sprintf("data.defaults.deployer.images[%s]", region)
		if err := validateField(fieldRegion, region, at); err != nil {
			return err
		}
		if err := validateField(fieldDeployerImage, image, at); err != nil {
			return err
		}
		// The XRD's rule on a claim: the image is in spec.region
		// (<account>.dkr.ecr.<region>.amazonaws.com/...).
		if r := strings.Split(image, ".")[3]; r != region {
			return errors.Errorf("%s: Invalid value: %q: the image is in region %s, not %s: Lambda runs an image only from an ECR repository in its own region", at, image, r, region)
		}
	}
	if t := c.Defaults.Deployer.TargetFunctionName; t != "" {
		for _, p := range placeholder.FindAllString(t, -1) {
			if p != placeholderClaim && p != placeholderEnvironment {
				return errors.Errorf("data.defaults.deployer.targetFunctionName: Invalid value: %q: unknown placeholder %s, want %s or %s", t, p, placeholderClaim, placeholderEnvironment)
			}
		}
	}
	if id := c.AccountID; id != "" && !accountID.MatchString(id) {
		return errors.Errorf("data.accountId: Invalid value: %q: an AWS account ID is 12 digits", id)
	}
	for i, f := range c.Enforced {
		if !enforceable[f] {
			return errors.Errorf("data.enforced[%d]: Unsupported value: %q: supported values: %s", i, f, strings.Join(sortedKeys(enforceable), ", "))
		}
	}
	for i, r := range c.AllowedRegions {
		if err := validateField(fieldRegion, r, fmt.Sprintf("data.allowedRegions[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// asMap returns v in the JSON form of an XR's spec.
func asMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errors.Wrap(err, "cannot encode the platform defaults")
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, errors.Wrap(err, "cannot decode the platform defaults")
	}
	return out, nil
}

var (
	validatorsMu sync.Mutex
	validators   = map[string]*specschema.Validator{}
)

// validateField validates v against the XRD's schema of spec.<path>,
// reporting violations at "at".
func validateField(path string, v any, at string) error {
	val, err := fieldValidator(path)
	if err != nil {
		return err
	}
	errs := val.Validate(map[string]any{"value": v})
	if len(errs) == 0 {
		return nil
	}
	out := make(field.ErrorList, 0, len(errs))
	for _, e := range errs {
		c := *e
		c.Field = at + strings.TrimPrefix(c.Field, "value")
		out = append(out, &c)
	}
	return errors.New(specschema.Summary(out))
}

// fieldValidator validates an object whose "value" is a spec.<path> of the
// XRD, with that field's schema alone.
func fieldValidator(path string) (*specschema.Validator, error) {
	validatorsMu.Lock()
	defer validatorsMu.Unlock()
	if v, ok := validators[path]; ok {
		return v, nil
	}
	s, err := xrd.Schema()
	if err != nil {
		return nil, errors.Wrap(err, "cannot load the XRD's schema")
	}
	props, ok := s.Properties["spec"]
	if !ok {
		return nil, errors.New("the XRD has no spec")
	}
	for name := range strings.SplitSeq(path, ".") {
		next, ok := props.Properties[name]
		if !ok {
			return nil, errors.Errorf("the XRD has no spec.%s", path)
		}
		props = next
	}
	rules, err := xrd.Rules()
	if err != nil {
		return nil, errors.Wrap(err, "cannot load the XRD's CEL rules")
	}
	v, err := specschema.New(&apiextensionsv1.JSONSchemaProps{
		Type:       "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{"value": props},
	}, rules)
	if err != nil {
		return nil, errors.Wrapf(err, "cannot build the validator of spec.%s", path)
	}
	validators[path] = v
	return v, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// get returns the value at a dotted path of a JSON object.
func get(m map[string]any, path string) (any, bool) {
	parts := strings.Split(path, ".")
	var cur any = m
	for _, p := range parts {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = obj[p]
		if !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// set sets the value at a dotted path of a JSON object, creating the
// objects on the way.
func set(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	cur := m
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = v
}
