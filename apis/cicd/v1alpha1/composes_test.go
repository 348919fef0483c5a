package v1alpha1

import "testing"

func TestComposesConnection(t *testing.T) {
	cases := map[string]struct {
		source Source
		want   bool
	}{
		"GitHub":             {source: Source{Provider: SourceGitHub}, want: true},
		"ExistingConnection": {source: Source{Provider: SourceGitHub, ConnectionARN: "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc"}, want: false},
		"CodeCommit":         {source: Source{Provider: SourceCodeCommit}, want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.source.ComposesConnection(); got != tc.want {
				t.Errorf("ComposesConnection() = %t, want %t", got, tc.want)
			}
		})
	}
}

func TestComposesDeployer(t *testing.T) {
	if (XCicdPipelineSpec{}).ComposesDeployer() {
		t.Error("without a deployer image the deployer must not be composed")
	}
	if !(XCicdPipelineSpec{PipelineParameters: PipelineParameters{Deployer: Deployer{Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1"}}}).ComposesDeployer() {
		t.Error("with a deployer image the deployer must be composed")
	}
}
