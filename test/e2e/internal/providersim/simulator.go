// Package providersim plays provider-aws for the e2e tests: it watches the
// managed resources Crossplane composes and reports them the way the real
// provider does after creating them in AWS (finalizer, resolved references,
// status.atProvider with ARNs, IDs and URLs, Ready and Synced conditions),
// without calling AWS. Tests can hold resources not ready, Synced=False or,
// for CodeStar connections, PENDING.
package providersim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

const (
	// finalizer is the one crossplane-runtime's managed reconciler adds, so
	// that deletion waits until the external resource is gone.
	finalizer = "finalizer.managedresource.crossplane.io"

	annotationExternalName = "crossplane.io/external-name"
	labelClaimName         = "crossplane.io/claim-name"
	labelClaimNamespace    = "crossplane.io/claim-namespace"
	labelComposite         = "crossplane.io/composite"

	// resync re-examines every resource, so that a resource whose reference
	// target became ready is resolved without an event of its own.
	resync  = 2 * time.Second
	workers = 4

	fieldManager = "provider-simulator"
)

// Fault holds matching resources in a state other than healthy.
type Fault struct {
	// Kind selects resources by kind (e.g. "Table"); required.
	Kind string
	// ClaimNamespace and ClaimName narrow the fault to one claim's resources
	// (labels crossplane.io/claim-namespace and -name); empty matches all.
	ClaimNamespace string
	ClaimName      string
	// Namespace and Composite narrow the fault to the resources of a
	// namespaced XR (Crossplane v2 has no claim there): the managed
	// resources' own namespace and their crossplane.io/composite label.
	// Empty matches all; a non-empty Namespace never matches a
	// cluster-scoped resource.
	Namespace string
	Composite string

	// NotReady holds Ready=False (reason Creating), as while AWS creates it.
	NotReady bool
	// SyncError holds Synced=False (reason ReconcileError) with this message,
	// as when the provider's last call to AWS failed.
	SyncError string
	// ConnectionPending reports a CodeStar connection's connectionStatus as
	// PENDING (still Ready: AWS created it, a human has not approved it).
	ConnectionPending bool
}

func (f Fault) matches(u *unstructured.Unstructured) bool {
	l := u.GetLabels()
	return f.Kind == u.GetKind() &&
		(f.ClaimNamespace == "" || l[labelClaimNamespace] == f.ClaimNamespace) &&
		(f.ClaimName == "" || l[labelClaimName] == f.ClaimName) &&
		(f.Namespace == "" || u.GetNamespace() == f.Namespace) &&
		(f.Composite == "" || l[labelComposite] == f.Composite)
}

// Config of a simulator.
type Config struct {
	Account       string // AWS account ID in ARNs, e.g. 123456789012
	DefaultRegion string // for resources without spec.forProvider.region
	Logf          func(format string, args ...any)
}

// Simulator is a running fake provider.
type Simulator struct {
	cfg     Config
	client  dynamic.Interface
	kinds   map[schema.GroupVersionResource]*Kind
	byGroup map[schema.GroupKind]*Kind

	factory dynamicinformer.DynamicSharedInformerFactory
	queue   workqueue.TypedRateLimitingInterface[objectKey]

	mu      sync.Mutex
	faults  map[int]Fault
	nextID  int
	written map[types.UID]string // hash of the last status written, per object
	// handshakes are the claims whose CodeStar connections an administrator
	// has approved (Kind is unused).
	handshakes []Fault
	// external is what exists in "AWS", by externalKey.
	external map[string]External
}

// validProviderConfigKinds are the kinds a namespaced managed resource's
// providerConfigRef may name: a ProviderConfig in its own namespace or a
// ClusterProviderConfig (provider-aws v2's aws.m.upbound.io). The CRD
// requires a kind but accepts any string; the provider refuses others.
var validProviderConfigKinds = []string{"ProviderConfig", "ClusterProviderConfig"}

// External is a resource as it exists in AWS: what the provider last
// applied, and from which generation of the managed resource.
type External struct {
	Kind        schema.GroupKind
	Name        string
	ForProvider map[string]any
	Generation  int64
}

// externalKey names an AWS resource. AWS knows nothing of Kubernetes
// scopes: a namespaced managed resource (s3.aws.m.upbound.io) and a
// cluster-scoped one (s3.aws.upbound.io) with the same external name are
// the same AWS resource, so both scopes share one key.
func externalKey(gk schema.GroupKind, name string) string {
	return schema.GroupKind{Group: providerfake.ClusterGroup(gk.Group), Kind: gk.Kind}.String() + "/" + name
}

// iamRole is the IAM role kind; externalKey gives both scopes' roles
// the same key.
var iamRole = schema.GroupKind{Group: "iam.aws.upbound.io", Kind: "Role"}

// roleExists reports whether the role an ARN names (arn:...:role/[path/]name)
// exists in "AWS".
func (s *Simulator) roleExists(arn string) bool {
	_, res, _ := strings.Cut(arn, ":role/")
	name := res[strings.LastIndex(res, "/")+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.external[externalKey(iamRole, name)]
	return ok
}

// connectionKind is the kind AWS creates PENDING (in either scope).
var connectionKind = schema.GroupKind{Group: "codestarconnections.aws.upbound.io", Kind: "Connection"}

func isConnection(gk schema.GroupKind) bool {
	return gk.Kind == connectionKind.Kind && providerfake.ClusterGroup(gk.Group) == connectionKind.Group
}

// objectKey is a managed resource in the work queue; Namespace is empty
// for cluster-scoped kinds.
type objectKey struct {
	GVR       schema.GroupVersionResource
	Namespace string
	Name      string
}

// storeKey is the object's key in the watch cache (namespace/name, or name).
func (k objectKey) storeKey() string {
	if k.Namespace == "" {
		return k.Name
	}
	return k.Namespace + "/" + k.Name
}

func keyOf(gvr schema.GroupVersionResource, u *unstructured.Unstructured) objectKey {
	return objectKey{GVR: gvr, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// resource is the API of one managed resource: namespaced kinds are
// written in their namespace.
func (s *Simulator) resource(k *Kind, namespace string) dynamic.ResourceInterface {
	if k.Namespaced {
		return s.client.Resource(k.Resource).Namespace(namespace)
	}
	return s.client.Resource(k.Resource)
}

// New returns a simulator for kinds; call Start to run it.
func New(client dynamic.Interface, kinds []*Kind, cfg Config) *Simulator {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Simulator{
		cfg:      cfg,
		client:   client,
		kinds:    map[schema.GroupVersionResource]*Kind{},
		byGroup:  map[schema.GroupKind]*Kind{},
		factory:  dynamicinformer.NewDynamicSharedInformerFactory(client, resync),
		queue:    workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[objectKey]()),
		faults:   map[int]Fault{},
		written:  map[types.UID]string{},
		external: map[string]External{},
	}
	for _, k := range kinds {
		s.kinds[k.Resource] = k
		s.byGroup[k.GVK.GroupKind()] = k
	}
	return s
}

// Start watches every kind and reconciles until ctx ends. It returns once the
// watches have synced.
func (s *Simulator) Start(ctx context.Context) error {
	for gvr := range s.kinds {
		inf := s.factory.ForResource(gvr).Informer()
		enqueue := func(obj any) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				s.queue.Add(keyOf(gvr, u))
			}
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
		}); err != nil {
			return fmt.Errorf("cannot watch %s: %w", gvr, err)
		}
	}
	s.factory.Start(ctx.Done())
	for gvr, synced := range s.factory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return fmt.Errorf("cannot sync the watch of %s", gvr)
		}
	}
	for range workers {
		go func() {
			for s.processNext(ctx) {
			}
		}()
	}
	go func() {
		<-ctx.Done()
		s.queue.ShutDown()
	}()
	return nil
}

// Hold applies a fault until the returned release function is called.
func (s *Simulator) Hold(f Fault) (release func()) {
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.faults[id] = f
	s.mu.Unlock()
	s.requeueKind(f.Kind)
	return func() {
		s.mu.Lock()
		delete(s.faults, id)
		s.mu.Unlock()
		s.requeueKind(f.Kind)
	}
}

// CompleteHandshake approves the CodeStar connections of a claim (every
// claim if claimName is empty) as an administrator does in the AWS console:
// AWS creates every connection PENDING, and only this makes it AVAILABLE.
func (s *Simulator) CompleteHandshake(claimNamespace, claimName string) {
	s.completeHandshake(Fault{Kind: connectionKind.Kind, ClaimNamespace: claimNamespace, ClaimName: claimName})
}

// CompleteCompositeHandshake approves the CodeStar connections of a
// namespaced XR: those in namespace labelled crossplane.io/composite=name.
func (s *Simulator) CompleteCompositeHandshake(namespace, composite string) {
	s.completeHandshake(Fault{Kind: connectionKind.Kind, Namespace: namespace, Composite: composite})
}

func (s *Simulator) completeHandshake(f Fault) {
	s.mu.Lock()
	s.handshakes = append(s.handshakes, f)
	s.mu.Unlock()
	s.requeueKind(connectionKind.Kind)
}

// External returns the AWS resource of a kind (of either scope) with an
// external name, and whether it exists.
func (s *Simulator) External(gk schema.GroupKind, name string) (External, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.external[externalKey(gk, name)]
	return e, ok
}

func (s *Simulator) handshakeDone(u *unstructured.Unstructured) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.handshakes {
		if h.matches(u) {
			return true
		}
	}
	return false
}

// deletes reports whether deleting the managed resource deletes the
// external resource: deletionPolicy Delete (the default), and management
// policies that allow it ("*" or Delete; an empty list means "*").
// Namespaced (v2) managed resources have no deletionPolicy: their
// management policies alone decide.
// https://docs.crossplane.io/latest/managed-resources/managed-resources/#managementpolicies
func deletes(u *unstructured.Unstructured) bool {
	policy, _, _ := unstructured.NestedString(u.Object, "spec", "deletionPolicy")
	if policy == "Orphan" {
		return false
	}
	policies, found, _ := unstructured.NestedStringSlice(u.Object, "spec", "managementPolicies")
	return !found || len(policies) == 0 || slices.Contains(policies, "*") || slices.Contains(policies, "Delete")
}

func (s *Simulator) requeueKind(kind string) {
	for gvr, k := range s.kinds {
		if k.GVK.Kind != kind {
			continue
		}
		for _, obj := range s.factory.ForResource(gvr).Informer().GetStore().List() {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				s.queue.Add(keyOf(gvr, u))
			}
		}
	}
}

func (s *Simulator) faultFor(u *unstructured.Unstructured) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var merged Fault
	for _, f := range s.faults {
		if !f.matches(u) {
			continue
		}
		merged.NotReady = merged.NotReady || f.NotReady
		merged.ConnectionPending = merged.ConnectionPending || f.ConnectionPending
		if f.SyncError != "" {
			merged.SyncError = f.SyncError
		}
	}
	return merged
}

func (s *Simulator) processNext(ctx context.Context) bool {
	key, shutdown := s.queue.Get()
	if shutdown {
		return false
	}
	defer s.queue.Done(key)
	if err := s.reconcile(ctx, key); err != nil {
		if !kerrors.IsConflict(err) && !kerrors.IsNotFound(err) && ctx.Err() == nil {
			s.cfg.Logf("provider simulator: %s %s: %v", key.GVR.Resource, key.storeKey(), err)
		}
		s.queue.AddRateLimited(key)
		return true
	}
	s.queue.Forget(key)
	return true
}

func (s *Simulator) reconcile(ctx context.Context, key objectKey) error {
	k := s.kinds[key.GVR]
	obj, exists, err := s.factory.ForResource(key.GVR).Informer().GetStore().GetByKey(key.storeKey())
	if err != nil || !exists {
		return err
	}
	cached, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return fmt.Errorf("unexpected object %T in the watch cache", obj)
	}
	u := cached.DeepCopy()
	ri := s.resource(k, u.GetNamespace())

	// Deletion: AWS deletes at once unless the policies orphan the
	// external resource, then the finalizer goes.
	if u.GetDeletionTimestamp() != nil {
		if !slices.Contains(u.GetFinalizers(), finalizer) {
			return nil
		}
		if deletes(u) {
			s.mu.Lock()
			delete(s.external, externalKey(k.GVK.GroupKind(), externalNameOf(u)))
			s.mu.Unlock()
		}
		u.SetFinalizers(slices.DeleteFunc(u.GetFinalizers(), func(f string) bool { return f == finalizer }))
		_, err := ri.Update(ctx, u, metav1.UpdateOptions{FieldManager: fieldManager})
		return err
	}
	// The finalizer and resolved references (which the provider writes into
	// the spec) go in one update: every write is a watch event for
	// Crossplane, whose per-XR circuit breaker counts them.
	// createErr is why the provider cannot create or update the AWS
	// resource yet: unresolved references or a provider config it refuses.
	resolved, changed, createErr := s.resolveReferences(k, u)
	if createErr != nil {
		createErr = fmt.Errorf("cannot resolve references: %w", createErr)
	} else if missing := providerfake.UnknownPrincipals(u, s.cfg.Account, s.roleExists); len(missing) > 0 {
		// AWS refuses the create or update (providerfake.UnknownPrincipals).
		createErr = fmt.Errorf("cannot create or update: Invalid principal in policy: %s", strings.Join(missing, ", "))
	}
	createErr = errors.Join(createErr, checkProviderConfig(k, u))
	if !slices.Contains(resolved.GetFinalizers(), finalizer) {
		resolved.SetFinalizers(append(resolved.GetFinalizers(), finalizer))
		changed = true
	}
	if changed {
		_, err := ri.Update(ctx, resolved, metav1.UpdateOptions{FieldManager: fieldManager})
		return err
	}

	status := s.desiredStatus(k, u, createErr)
	hash, err := hashOf(status)
	if err != nil {
		return err
	}
	s.mu.Lock()
	same := s.written[u.GetUID()] == hash
	s.mu.Unlock()
	if same {
		return nil
	}
	u.Object["status"] = withTransitionTimes(status, u)
	if _, err := ri.UpdateStatus(ctx, u, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
		return err
	}
	s.mu.Lock()
	s.written[u.GetUID()] = hash
	if createErr == nil {
		// Created or updated in AWS with these parameters.
		forProvider, _, _ := unstructured.NestedMap(u.Object, "spec", "forProvider")
		s.external[externalKey(k.GVK.GroupKind(), externalNameOf(u))] = External{
			Kind: k.GVK.GroupKind(), Name: externalNameOf(u), ForProvider: forProvider, Generation: u.GetGeneration(),
		}
	}
	s.mu.Unlock()
	return nil
}

// desiredStatus is the status the real provider would report, without
// condition transition times (see withTransitionTimes).
func (s *Simulator) desiredStatus(k *Kind, u *unstructured.Unstructured, createErr error) map[string]any {
	fault := s.faultFor(u)
	forProvider, _, _ := unstructured.NestedMap(u.Object, "spec", "forProvider")
	region, _ := forProvider["region"].(string)
	if region == "" {
		region = s.cfg.DefaultRegion
	}
	externalName := u.GetAnnotations()[annotationExternalName]
	if externalName == "" {
		externalName = u.GetName()
	}
	gen := u.GetGeneration()

	ready := condition("Ready", "True", "Available", "", gen)
	synced := condition("Synced", "True", "ReconcileSuccess", "", gen)
	if fault.NotReady {
		ready = condition("Ready", "False", "Creating", "", gen)
	}
	if fault.SyncError != "" {
		synced = condition("Synced", "False", "ReconcileError", fault.SyncError, gen)
	}
	status := map[string]any{"observedGeneration": gen}
	if createErr != nil {
		// Never created: nothing observed, not ready, and the reason why.
		synced = condition("Synced", "False", "ReconcileError", createErr.Error(), gen)
		if !isReady(u) {
			ready = condition("Ready", "False", "Creating", "", gen)
		}
	}
	if createErr == nil || isReady(u) {
		status["atProvider"] = atProvider(k, providerfake.Identity{
			Group: k.GVK.Group, Kind: k.GVK.Kind, ExternalName: externalName,
			Region: region, Account: s.cfg.Account, UID: string(u.GetUID()),
			ForProvider: forProvider,
			// AWS creates connections PENDING until someone completes the
			// handshake in the console.
			ConnectionPending: fault.ConnectionPending || (isConnection(k.GVK.GroupKind()) && !s.handshakeDone(u)),
		})
	}
	status["conditions"] = []any{ready, synced}
	return status
}

func condition(typ, status, reason, message string, gen int64) map[string]any {
	c := map[string]any{"type": typ, "status": status, "reason": reason, "observedGeneration": gen}
	if message != "" {
		c["message"] = message
	}
	return c
}

func isReady(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// withTransitionTimes adds lastTransitionTime to each condition: the old time
// if the condition's status did not change, now otherwise.
func withTransitionTimes(status map[string]any, u *unstructured.Unstructured) map[string]any {
	old := map[string]map[string]any{}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok {
			if t, ok := m["type"].(string); ok {
				old[t] = m
			}
		}
	}
	now := time.Now().UTC().Format(time.RFC3339)
	conditions, _ := status["conditions"].([]any)
	for _, c := range conditions {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		m["lastTransitionTime"] = now
		typ, _ := m["type"].(string)
		if o, ok := old[typ]; ok && o["status"] == m["status"] && o["lastTransitionTime"] != nil {
			m["lastTransitionTime"] = o["lastTransitionTime"]
		}
	}
	return status
}

// resolveReferences fills each reference field, at any depth of
// spec.forProvider, from its selector (or existing reference) the way
// crossplane-runtime's API resolver does: matching objects of the target
// kind by labels and, with matchControllerRef, by the same controller; for
// a namespaced managed resource, only objects in its own namespace. It
// returns the updated object and whether it changed, or an error if a
// selected target is missing, ambiguous or not yet observed.
func (s *Simulator) resolveReferences(k *Kind, u *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	out := u.DeepCopy()
	spec, _ := out.Object["spec"].(map[string]any)
	forProvider, found := spec["forProvider"].(map[string]any)
	if !found {
		return u, false, nil
	}
	changed := false
	var errs []error
	for _, ref := range k.refs {
		for _, holder := range holders(forProvider, ref.Path) {
			c, err := s.resolveOne(ref, holder, u)
			changed = changed || c
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return out, changed, errors.Join(errs...)
}

// holders returns the objects at path below obj, stepping through lists;
// they are the objects themselves, so changes to them change obj.
func holders(obj map[string]any, path []string) []map[string]any {
	if len(path) == 0 {
		return []map[string]any{obj}
	}
	var out []map[string]any
	switch v := obj[path[0]].(type) {
	case map[string]any:
		out = append(out, holders(v, path[1:])...)
	case []any:
		for _, item := range v {
			if m, ok := item.(map[string]any); ok {
				out = append(out, holders(m, path[1:])...)
			}
		}
	}
	return out
}

// resolveOne resolves one reference field in holder, a part of from's
// spec.forProvider, reporting whether it changed holder.
func (s *Simulator) resolveOne(ref refField, holder map[string]any, from *unstructured.Unstructured) (bool, error) {
	field := strings.Join(append(slices.Clone(ref.Path), ref.Field), ".")
	selector, hasSelector := holder[ref.Field+"Selector"].(map[string]any)
	refKey := ref.Field + "Ref"
	if ref.List {
		refKey = ref.Field + "Refs"
	}
	_, hasRef := holder[refKey]
	if _, hasValue := holder[ref.Field]; hasValue && !hasSelector {
		return false, nil // set directly: nothing to resolve
	}
	if !hasSelector && !hasRef {
		return false, nil
	}
	target := s.byGroup[ref.Target]
	if target == nil {
		return false, fmt.Errorf("%s: no %s kind %s installed", field, ref.Target.Group, ref.Target.Kind)
	}
	var candidates []*unstructured.Unstructured
	var err error
	if hasRef && !hasSelector {
		candidates, err = s.byRefs(target, holder[refKey], ref.List, from.GetNamespace())
	} else {
		candidates, err = s.bySelector(target, selector, from)
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", field, err)
	}
	if len(candidates) == 0 {
		return false, fmt.Errorf("%s: no %s matches the selector", field, ref.Target.Kind)
	}
	// crossplane-runtime's resolver takes the first match of a single-valued
	// selector, in whatever order the API server lists them: the result is
	// arbitrary. The simulator is stricter and refuses, so that a selector
	// that is not specific enough fails here rather than at random in AWS.
	if !ref.List && len(candidates) > 1 {
		names := make([]string, 0, len(candidates))
		for _, c := range candidates {
			names = append(names, c.GetName())
		}
		return false, fmt.Errorf("%s: the selector matches %d %s objects (%s), want exactly one", field, len(candidates), ref.Target.Kind, strings.Join(names, ", "))
	}
	values := make([]any, 0, len(candidates))
	refs := make([]any, 0, len(candidates))
	for _, c := range candidates {
		v := externalNameOf(c)
		if ref.ARN {
			v, _, _ = unstructured.NestedString(c.Object, "status", "atProvider", "arn")
		}
		if v == "" {
			return false, fmt.Errorf("%s: referenced %s %s is not observed yet", field, ref.Target.Kind, c.GetName())
		}
		values = append(values, v)
		r := map[string]any{"name": c.GetName()}
		if target.Namespaced {
			// crossplane-runtime's namespaced resolver records where it
			// found the target (a NamespacedReference).
			r["namespace"] = c.GetNamespace()
		}
		refs = append(refs, r)
	}
	var value, refValue any
	value, refValue = values[0], refs[0]
	if ref.List {
		value, refValue = values, refs
	}
	if hasRef && !hasSelector && target.Namespaced {
		// The namespaced resolver keeps a reference it resolved as written.
		refValue = holder[refKey]
	}
	if jsonEqual(holder[ref.Field], value) && jsonEqual(holder[refKey], refValue) {
		return false, nil
	}
	holder[ref.Field] = value
	holder[refKey] = refValue
	return true, nil
}

// sameNamespaceOnly refuses a reference or selector that names another
// namespace than the managed resource's own. crossplane-runtime would
// follow it; the simulator is stricter: the function composes every
// resource of a namespaced XR in the XR's namespace, and a reference that
// leaves it is a defect (it would reach another team's resources).
func sameNamespaceOnly(what string, m map[string]any, namespace string) error {
	ns, _ := m["namespace"].(string)
	if ns != "" && ns != namespace {
		return fmt.Errorf("the %s names namespace %q, outside the managed resource's namespace %q", what, ns, namespace)
	}
	return nil
}

// bySelector lists the objects of target that selector matches for the
// managed resource from: by labels, by controller with matchControllerRef,
// and for namespaced kinds only in from's namespace.
func (s *Simulator) bySelector(target *Kind, selector map[string]any, from *unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	if target.Namespaced {
		if err := sameNamespaceOnly("selector", selector, from.GetNamespace()); err != nil {
			return nil, err
		}
	}
	controller := controllerUID(from)
	matchLabels, _ := selector["matchLabels"].(map[string]any)
	matchController, _ := selector["matchControllerRef"].(bool)
	var out []*unstructured.Unstructured
	for _, obj := range s.factory.ForResource(target.Resource).Informer().GetStore().List() {
		c, ok := obj.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		if c.GetDeletionTimestamp() != nil {
			continue
		}
		if target.Namespaced && c.GetNamespace() != from.GetNamespace() {
			continue
		}
		if matchController && (controller == "" || controllerUID(c) != controller) {
			continue
		}
		labels := c.GetLabels()
		matches := true
		for lk, lv := range matchLabels {
			if labels[lk] != lv {
				matches = false
			}
		}
		if matches {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out, nil
}

// byRefs returns the objects that refs name (all of them, or none), for
// namespaced kinds in namespace.
func (s *Simulator) byRefs(target *Kind, refs any, list bool, namespace string) ([]*unstructured.Unstructured, error) {
	var items []map[string]any
	if list {
		l, _ := refs.([]any)
		for _, r := range l {
			if m, ok := r.(map[string]any); ok {
				items = append(items, m)
			}
		}
	} else if m, ok := refs.(map[string]any); ok {
		items = append(items, m)
	}
	store := s.factory.ForResource(target.Resource).Informer().GetStore()
	var out []*unstructured.Unstructured
	for _, m := range items {
		key, _ := m["name"].(string)
		if target.Namespaced {
			if err := sameNamespaceOnly("reference", m, namespace); err != nil {
				return nil, err
			}
			key = namespace + "/" + key
		}
		if obj, exists, err := store.GetByKey(key); err == nil && exists {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				out = append(out, u)
			}
		}
	}
	if len(out) != len(items) {
		return nil, nil
	}
	return out, nil
}

// checkProviderConfig refuses what the provider would: a namespaced managed
// resource's providerConfigRef must name one of validProviderConfigKinds.
func checkProviderConfig(k *Kind, u *unstructured.Unstructured) error {
	if !k.Namespaced {
		return nil
	}
	kind, _, _ := unstructured.NestedString(u.Object, "spec", "providerConfigRef", "kind")
	if !slices.Contains(validProviderConfigKinds, kind) {
		return fmt.Errorf("cannot get provider config: spec.providerConfigRef.kind %q is not one of %s", kind, strings.Join(validProviderConfigKinds, ", "))
	}
	return nil
}

func controllerUID(u *unstructured.Unstructured) types.UID {
	for _, o := range u.GetOwnerReferences() {
		if o.Controller != nil && *o.Controller {
			return o.UID
		}
	}
	return ""
}

func externalNameOf(u *unstructured.Unstructured) string {
	if n := u.GetAnnotations()[annotationExternalName]; n != "" {
		return n
	}
	return u.GetName()
}

func jsonEqual(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

func hashOf(v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("cannot hash status: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
