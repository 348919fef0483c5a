package v1alpha1

// What a spec composes, decided once here for the function's builders, its
// status outputs and its conditions.

// ComposesConnection reports whether the pipeline needs a new CodeStar
// connection: not for CodeCommit, and not when the spec names an existing
// one.
func (s Source) ComposesConnection() bool {
	return s.Provider != SourceCodeCommit && s.ConnectionARN == ""
}

// ComposesDeployer reports whether the deployer Lambda, its role, table,
// log group and alarms, and the Deploy stage are composed: only once the
// platform's deployer image is named.
func (s PipelineParameters) ComposesDeployer() bool {
	return s.Deployer.Image != ""
}
