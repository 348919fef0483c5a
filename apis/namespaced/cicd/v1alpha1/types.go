package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cicd "github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
)

// CicdPipeline is a complete AWS CI/CD pipeline for one application and one
// environment, owned by the namespace it is created in: its managed
// resources live in the same namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:subresource:status
type CicdPipeline struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CicdPipelineSpec         `json:"spec"`
	Status cicd.XCicdPipelineStatus `json:"status,omitempty"`
}

// CicdPipelineSpec is what an application team asks for in its namespace:
// the same parameters as the claim API. Namespaced managed resources have
// no deletion policy (a pipeline that must outlive its CicdPipeline leaves
// Delete out of managementPolicies), and their provider config reference
// names its kind.
type CicdPipelineSpec struct {
	cicd.PipelineParameters `json:",inline"`

	// ProviderConfigRef is the provider-aws provider config every managed
	// resource uses: a ProviderConfig in this namespace or a
	// ClusterProviderConfig. Default: kind ClusterProviderConfig, name the
	// platform's, else default.
	// +optional
	ProviderConfigRef *ProviderConfigReference `json:"providerConfigRef,omitempty"`
}

// ProviderConfigReference names a provider-aws (aws.m.upbound.io) provider
// config.
type ProviderConfigReference struct {
	// Kind is ProviderConfig (in the CicdPipeline's namespace) or
	// ClusterProviderConfig. Default: ClusterProviderConfig.
	// +kubebuilder:validation:Enum=ProviderConfig;ClusterProviderConfig
	// +optional
	Kind string `json:"kind,omitempty"`

	// Name of the provider config. Default: the platform's, else default.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`
}
