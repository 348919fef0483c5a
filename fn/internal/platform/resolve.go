package platform

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/observe"
)

// Applicable returns the configs that apply to a claim with the environment
// label env, in the order they are merged: the general ones (no environment
// label) by name, then env's own by name, so a later, more specific config
// wins.
func Applicable(configs []Config, env string) []Config {
	var general, specific []Config
	for _, c := range configs {
		switch c.Environment {
		case "":
			general = append(general, c)
		case env:
			specific = append(specific, c)
		}
	}
	byName := func(a, b Config) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(general, byName)
	slices.SortFunc(specific, byName)
	return append(general, specific...)
}

// sourced is a value and the source it came from.
type sourced struct {
	value  any
	source string
}

// merged is the platform layer: the applicable configs folded in order.
type merged struct {
	values map[string]sourced // plain and cross-account fields, region
	tags   map[string]sourced
	images map[string]sourced
	target sourced
	// accounts are the accountIds by the provider config they describe:
	// the providerConfigName in effect where each is set. last is the
	// last accountId set, and lastFor its provider config.
	accounts      map[string]sourced
	last, lastFor sourced
	enforce       map[string]string // field -> config that enforces it
	// allowed regions (nil: any) and the configs that restrict them.
	allowed     []string
	allowedFrom []string
}

func merge(configs []Config) (*merged, error) {
	m := &merged{values: map[string]sourced{}, tags: map[string]sourced{}, images: map[string]sourced{}, accounts: map[string]sourced{}, enforce: map[string]string{}}
	for _, c := range configs {
		src := v1alpha1.SourcePlatformPrefix + c.Name
		defaults, err := asMap(c.Data.Defaults)
		if err != nil {
			return nil, err
		}
		for _, p := range append(append([]string{fieldRegion}, plainFields...), crossAccountFields...) {
			if v, ok := get(defaults, p); ok {
				m.values[p] = sourced{value: v, source: src}
			}
		}
		for k, v := range c.Data.Defaults.Tags {
			m.tags[k] = sourced{value: v, source: src}
		}
		for k, v := range c.Data.Defaults.Deployer.Images {
			m.images[k] = sourced{value: v, source: src}
		}
		if t := c.Data.Defaults.Deployer.TargetFunctionName; t != "" {
			m.target = sourced{value: t, source: src}
		}
		if id := c.Data.AccountID; id != "" {
			pc := m.providerConfig()
			m.accounts[pc] = sourced{value: id, source: c.Name}
			m.last, m.lastFor = m.accounts[pc], sourced{value: pc}
		}
		for _, f := range c.Data.Enforced {
			if _, ok := m.enforce[f]; !ok {
				m.enforce[f] = c.Name
			}
		}
		if len(c.Data.AllowedRegions) > 0 {
			m.allowedFrom = append(m.allowedFrom, c.Name)
			if m.allowed == nil {
				m.allowed = slices.Clone(c.Data.AllowedRegions)
			} else {
				m.allowed = slices.DeleteFunc(m.allowed, func(r string) bool { return !slices.Contains(c.Data.AllowedRegions, r) })
			}
			if len(m.allowed) == 0 {
				return nil, configErrorf("EnvironmentConfigs %s: data.allowedRegions: the configs allow no region in common", strings.Join(m.allowedFrom, ", "))
			}
		}
	}
	for f, by := range m.enforce {
		_, has := m.values[f]
		if f == fieldTags {
			has = len(m.tags) > 0
		}
		if !has {
			return nil, configErrorf("EnvironmentConfig %s: data.enforced: %s is enforced, but no applicable config sets data.defaults.%s", by, f, f)
		}
	}
	if r, ok := m.values[fieldRegion]; ok && m.allowed != nil && !slices.Contains(m.allowed, text(r.value)) {
		return nil, configErrorf("EnvironmentConfig %s: data.defaults.region: %s is not among the allowed regions (%s)", strings.TrimPrefix(r.source, v1alpha1.SourcePlatformPrefix), r.value, strings.Join(m.allowed, ", "))
	}
	return m, nil
}

// Input is what Resolve needs of the XR.
type Input struct {
	// Spec is the XR's spec as Crossplane sent it; Resolve does not modify it.
	Spec map[string]any
	// Configs apply in this order (see Applicable).
	Configs []Config
	// ObservedRegion is the region the pipeline's existing resources are
	// in ("" before any exists).
	ObservedRegion string
	// Claim names the claim (the XR without a claim) in the deployer's
	// target function name.
	Claim string
	// NamespaceProviderConfig is true when a namespaced XR uses a
	// ProviderConfig of its own namespace (not a ClusterProviderConfig):
	// a team's own credentials, whose account no platform accountId
	// describes.
	NamespaceProviderConfig bool
}

// Result is the effective spec and what it was resolved from.
type Result struct {
	// Spec is the XR's spec with every defaultable field resolved.
	Spec map[string]any
	// Effective values, sorted by field.
	Effective []v1alpha1.EffectiveValue
	// Notes explain platform values that were not applied.
	Notes []string
	// AccountID is the platform's accountId for the provider config the
	// claim uses ("" when no config sets one for it), and AccountConfig
	// the EnvironmentConfig it comes from (the last applicable config that
	// sets it for that provider config).
	AccountID, AccountConfig string
}

// ViolationError is a claim value the platform does not allow.
type ViolationError struct{ msg string }

func (v *ViolationError) Error() string { return v.msg }

func violationf(format string, args ...any) error {
	return &ViolationError{msg: fmt.Sprintf(format, args...)}
}

// Resolve layers the claim over the platform's configs over the built-in
// defaults. A claim value that changes an enforced field, or a region the
// platform does not allow, is a *ViolationError; conflicting configs are a
// *ConfigError.
func Resolve(in Input) (*Result, error) {
	m, err := merge(in.Configs)
	if err != nil {
		return nil, err
	}
	r := &resolver{m: m, local: in.NamespaceProviderConfig, claim: in.Spec, spec: runtime.DeepCopyJSON(in.Spec), effective: map[string]v1alpha1.EffectiveValue{}}
	if err := r.region(in.ObservedRegion); err != nil {
		return nil, err
	}
	for _, p := range plainFields {
		if err := r.plain(p); err != nil {
			return nil, err
		}
	}
	if err := r.tags(); err != nil {
		return nil, err
	}
	r.deployer(in.Claim)
	r.crossAccount()

	r.account()

	out := &Result{Spec: r.spec, Notes: r.notes}
	if id, ok := r.accountID.value.(string); ok {
		out.AccountID, out.AccountConfig = id, r.accountID.source
	}
	for _, f := range sortedKeys(r.effective) {
		out.Effective = append(out.Effective, r.effective[f])
	}
	return out, nil
}

type resolver struct {
	m         *merged
	claim     map[string]any
	spec      map[string]any
	effective map[string]v1alpha1.EffectiveValue
	notes     []string
	accountID sourced
	// local: the XR uses its namespace's own ProviderConfig (Input).
	local bool
}

// providerConfig is the platform's providerConfigName so far: the merged
// configs', else the built-in default.
func (m *merged) providerConfig() string {
	if v, ok := m.values[fieldProviderConfigName].value.(string); ok {
		return v
	}
	return v1alpha1.DefaultProviderConfigName
}

// account picks the accountId of the provider config the claim uses. An
// accountId describes one cluster-level provider config, the platform's
// (its providerConfigName where it is set; a claim's ProviderConfig or a
// namespaced XR's ClusterProviderConfig of that name): a claim that uses
// another one, or a namespaced XR that uses its namespace's own
// ProviderConfig, may be in another account, so nothing is derived from it
// and composing it is no mismatch.
func (r *resolver) account() {
	pc, _ := get(r.spec, fieldProviderConfigName)
	name, _ := pc.(string)
	if r.local {
		if id, ok := r.m.last.value.(string); ok {
			r.notes = append(r.notes, fmt.Sprintf("data.accountId %s (EnvironmentConfig %s) is the account of the cluster-level provider config %s, not of ProviderConfig %s in this namespace, which this pipeline uses: its account is read from the first ARN AWS reports", id, r.m.last.source, r.m.lastFor.value, name))
		}
		return
	}
	if a, ok := r.m.accounts[name]; ok {
		r.accountID = a
		return
	}
	if id, ok := r.m.last.value.(string); ok {
		r.notes = append(r.notes, fmt.Sprintf("data.accountId %s (EnvironmentConfig %s) is the account of provider config %s, not of %s, which this claim uses: its account is read from the first ARN AWS reports", id, r.m.last.source, r.m.lastFor.value, name))
	}
}

func (r *resolver) record(f string, v any, source string) {
	r.effective[f] = v1alpha1.EffectiveValue{Field: f, Value: text(v), Source: source}
}

// checkEnforced rejects a claim value that differs from an enforced
// platform value.
func (r *resolver) checkEnforced(f string, claim any) error {
	by, ok := r.m.enforce[f]
	if !ok {
		return nil
	}
	p := r.m.values[f]
	if same(claim, p.value) {
		return nil
	}
	return violationf("spec.%s: %s is not allowed: the platform enforces %s (EnvironmentConfig %s); remove spec.%s from the claim", f, text(claim), text(p.value), by, f)
}

// plain resolves a field taken as a whole: claim, else platform, else
// built-in.
func (r *resolver) plain(f string) error {
	if v, ok := get(r.claim, f); ok {
		if err := r.checkEnforced(f, v); err != nil {
			return err
		}
		r.record(f, v, v1alpha1.SourceClaim)
		return nil
	}
	if p, ok := r.m.values[f]; ok {
		set(r.spec, f, runtime.DeepCopyJSONValue(p.value))
		r.record(f, p.value, p.source)
		return nil
	}
	if b, ok := builtins()[f]; ok {
		set(r.spec, f, b)
		r.record(f, b, v1alpha1.SourceDefault)
	}
	return nil
}

// region resolves the region. A pipeline whose resources exist stays in
// their region (the XRD's immutability rule cannot hold a value the claim
// never set): a claim that names another region is rejected, and a changed
// platform default is noted, not followed.
func (r *resolver) region(observed string) error {
	claim, claimSet := get(r.claim, fieldRegion)
	if claimSet {
		if err := r.checkEnforced(fieldRegion, claim); err != nil {
			return err
		}
	}
	switch {
	case observed != "" && claimSet && claim != observed:
		return violationf("spec.region: %s is not allowed: the pipeline's resources are in %s and spec.region is immutable: create a new claim for another region", claim, observed)
	case observed != "":
		src := v1alpha1.SourceObserved
		if claimSet {
			src = v1alpha1.SourceClaim
		} else if p, ok := r.m.values[fieldRegion]; ok && p.value != observed {
			r.notes = append(r.notes, fmt.Sprintf("the region stays %s, where the pipeline's resources are: the platform's default is now %s (%s), but a pipeline never moves; create a new claim to use it", observed, p.value, p.source))
		}
		set(r.spec, fieldRegion, observed)
		r.record(fieldRegion, observed, src)
	case claimSet:
		r.record(fieldRegion, claim, v1alpha1.SourceClaim)
	default:
		if err := r.plainRegion(); err != nil {
			return err
		}
	}
	if r.m.allowed != nil {
		e := r.effective[fieldRegion]
		if !slices.Contains(r.m.allowed, e.Value) {
			return violationf("spec.region: %s (%s) is not allowed: the platform allows only %s (EnvironmentConfig %s)", e.Value, e.Source, strings.Join(r.m.allowed, ", "), strings.Join(r.m.allowedFrom, ", "))
		}
	}
	return nil
}

func (r *resolver) plainRegion() error {
	if p, ok := r.m.values[fieldRegion]; ok {
		set(r.spec, fieldRegion, p.value)
		r.record(fieldRegion, p.value, p.source)
		return nil
	}
	set(r.spec, fieldRegion, v1alpha1.DefaultRegion)
	r.record(fieldRegion, v1alpha1.DefaultRegion, v1alpha1.SourceDefault)
	return nil
}

// tags merges the platform's tags with the claim's: the claim's value wins
// on the same key unless the platform enforces its tags; a platform tag is
// never dropped.
func (r *resolver) tags() error {
	claim, _ := get(r.claim, fieldTags)
	claimTags, _ := claim.(map[string]any)
	out := map[string]any{}
	for k, p := range r.m.tags {
		out[k] = p.value
		r.record(fieldTags+"."+k, p.value, p.source)
	}
	for _, k := range sortedKeys(claimTags) {
		v := claimTags[k]
		if p, ok := r.m.tags[k]; ok && !same(v, p.value) {
			if by, enforced := r.m.enforce[fieldTags]; enforced {
				return violationf("spec.tags.%s: %s is not allowed: the platform enforces its tags (%s=%s, EnvironmentConfig %s); use another key", k, text(v), k, p.value, by)
			}
		}
		out[k] = v
		r.record(fieldTags+"."+k, v, v1alpha1.SourceClaim)
	}
	if len(out) > 0 {
		set(r.spec, fieldTags, out)
	}
	return nil
}

// deployer defaults the deployer image of the effective region, and its
// targets from the platform's naming convention, so that a claim which
// names neither still gets a Deploy stage.
func (r *resolver) deployer(claimName string) {
	if v, ok := get(r.claim, fieldDeployerImage); ok {
		r.record(fieldDeployerImage, v, v1alpha1.SourceClaim)
	} else if img, ok := r.m.images[r.effective[fieldRegion].Value]; ok {
		targets, _ := get(r.claim, fieldDeployerTargets)
		if list, _ := targets.([]any); len(list) == 0 && r.m.target.value == nil {
			r.notes = append(r.notes, fmt.Sprintf("the platform's deployer image (%s) is not used: neither spec.deployer.targets nor the platform's deployer.targetFunctionName names a function to deploy", img.source))
			return
		}
		set(r.spec, fieldDeployerImage, img.value)
		r.record(fieldDeployerImage, img.value, img.source)
	} else {
		return
	}
	targets, _ := get(r.claim, fieldDeployerTargets)
	if list, _ := targets.([]any); len(list) > 0 {
		names := make([]any, 0, len(list))
		for _, t := range list {
			if obj, ok := t.(map[string]any); ok {
				names = append(names, obj["functionName"])
			}
		}
		r.record(fieldDeployerTargets, names, v1alpha1.SourceClaim)
		return
	}
	if r.m.target.value == nil {
		return
	}
	suffix, _ := get(r.claim, "environmentSuffix")
	name := strings.NewReplacer(placeholderClaim, claimName, placeholderEnvironment, text(suffix)).Replace(text(r.m.target.value))
	set(r.spec, fieldDeployerTargets, []any{map[string]any{"functionName": name}})
	r.record(fieldDeployerTargets, name, r.m.target.source)
}

// crossAccount defaults the trusted accounts and organization of a claim
// that asks for a cross-account role.
func (r *resolver) crossAccount() {
	fns, _ := get(r.claim, fieldCrossAccountFns)
	if list, _ := fns.([]any); len(list) == 0 {
		return
	}
	for _, f := range crossAccountFields {
		if v, ok := get(r.claim, f); ok {
			r.record(f, v, v1alpha1.SourceClaim)
			continue
		}
		if p, ok := r.m.values[f]; ok {
			set(r.spec, f, runtime.DeepCopyJSONValue(p.value))
			r.record(f, p.value, p.source)
		}
	}
}

// ObservedRegion is the region of the pipeline's existing resources: the
// spec.forProvider.region of the first observed resource (by name) that
// has one. Every regional resource is composed in the same region.
func ObservedRegion(observed observe.Resources) string {
	for _, n := range observed.Names() {
		if r := observed.String(n, "spec.forProvider.region"); r != "" {
			return r
		}
	}
	return ""
}

// same compares two JSON values, sets (lists) regardless of order.
func same(a, b any) bool {
	return canonical(a) == canonical(b)
}

func canonical(v any) string {
	if list, ok := v.([]any); ok {
		items := make([]string, 0, len(list))
		for _, i := range list {
			items = append(items, canonical(i))
		}
		sort.Strings(items)
		return "[" + strings.Join(items, ",") + "]"
	}
	if list, ok := v.([]string); ok {
		return canonical(toAny(list))
	}
	switch n := v.(type) {
	case int64:
		return strconv.FormatInt(n, 10)
	case int:
		return strconv.Itoa(n)
	}
	b, _ := json.Marshal(v) //nolint:errchkjson // JSON values of an XR always encode.
	return string(b)
}

func toAny(list []string) []any {
	out := make([]any, 0, len(list))
	for _, s := range list {
		out = append(out, s)
	}
	return out
}

// text renders a value for status.effective: lists comma-separated.
func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(t, 10)
	case []any:
		items := make([]string, 0, len(t))
		for _, i := range t {
			items = append(items, text(i))
		}
		return strings.Join(items, ", ")
	case nil:
		return ""
	default:
		b, _ := json.Marshal(t) //nolint:errchkjson // JSON values of an XR always encode.
		return string(b)
	}
}
