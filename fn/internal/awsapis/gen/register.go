package main

import (
	"bytes"
	"fmt"
	"go/format"
	"regexp"
	"slices"
	"strings"

	"github.com/crossplane/function-sdk-go/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The provider registers each kind in its group's scheme.Builder from an
// init function and computes each kind's type metadata (its GroupKind
// string, its GroupVersionKind) when the package is initialized. A Go
// program runs the init of every package it links when it starts, and each
// one maps in the pages of code around it: in the function, which never
// registers these kinds in a scheme, that kept about 0.6 MB more of the
// binary in memory (docs/performance.md, seventh pass). So the copies leave
// registration to scheme.go's AddToScheme, which only tests call, and spell
// the type metadata out as literals, which the compiler lays out as data:
// the copied packages run no code when the function starts.
//
// The rewrites match the provider's generated source exactly and fail on
// anything else, so an upjet change to these lines stops go generate
// instead of being copied half-rewritten.

var (
	groupConst   = regexp.MustCompile(`(?m)^\s*CRDGroup\s*=\s*"([^"]+)"\s*$`)
	versionConst = regexp.MustCompile(`(?m)^\s*CRDVersion\s*=\s*"([^"]+)"\s*$`)

	// builderVars are the group's scheme.Builder and its AddToScheme.
	builderVars = regexp.MustCompile(`\n\n\t// SchemeBuilder is used to add go types to the GroupVersionKind scheme\n` +
		`\tSchemeBuilder = &scheme\.Builder\{GroupVersion: CRDGroupVersion\}\n\n` +
		`\t// AddToScheme adds the types in this group-version to the given scheme\.\n` +
		`\tAddToScheme = SchemeBuilder\.AddToScheme\n`)
)

// builderImport imports the package declaring scheme.Builder.
const builderImport = "\t\"sigs.k8s.io/controller-runtime/pkg/scheme\"\n"

// groupVersion is the group and version a zz_groupversion_info.go declares.
func groupVersion(src []byte) (schema.GroupVersion, error) {
	g, v := groupConst.FindAllSubmatch(src, -1), versionConst.FindAllSubmatch(src, -1)
	if len(g) != 1 || len(v) != 1 {
		return schema.GroupVersion{}, errors.New("cannot find the CRDGroup and CRDVersion constants")
	}
	return schema.GroupVersion{Group: string(g[0][1]), Version: string(v[0][1])}, nil
}

// fileKind is the kind whose types file name is, or "" for another file.
func fileKind(name string, kinds []string) string {
	for _, k := range kinds {
		if name == "zz_"+strings.ToLower(k)+"_types.go" {
			return k
		}
	}
	return ""
}

// withoutBuilder drops the group's scheme.Builder and AddToScheme from its
// zz_groupversion_info.go.
func withoutBuilder(src []byte) ([]byte, error) {
	if len(builderVars.FindAllIndex(src, -1)) != 1 || bytes.Count(src, []byte(builderImport)) != 1 {
		return nil, errors.New("cannot find the group's SchemeBuilder and AddToScheme as upjet writes them")
	}
	out := builderVars.ReplaceAll(src, []byte("\n"))
	out = bytes.Replace(out, []byte(builderImport), nil, 1)
	if bytes.Contains(out, []byte("SchemeBuilder")) || bytes.Contains(out, []byte("scheme.")) {
		return nil, errors.New("the group-version file uses its SchemeBuilder beyond declaring it")
	}
	return format.Source(out)
}

// withoutInit drops the init registering kind from its types file and
// spells out its type metadata as the values the provider's expressions
// compute in group-version gv.
func withoutInit(src []byte, kind string, gv schema.GroupVersion) ([]byte, error) {
	register := fmt.Sprintf("\nfunc init() {\n\tSchemeBuilder.Register(&%[1]s{}, &%[1]sList{})\n}\n", kind)
	if bytes.Count(src, []byte(register)) != 1 || bytes.Count(src, []byte("func init()")) != 1 {
		return nil, errors.Errorf("cannot find %[1]s's registration as upjet writes it (one init registering %[1]s and %[1]sList)", kind)
	}
	out := bytes.Replace(src, []byte(register), nil, 1)

	q := regexp.QuoteMeta(kind)
	// upjet's comment names Repository for every kind: kept as it is.
	metadata := regexp.MustCompile(`\n(// \w+ type metadata\.)\nvar \(\n` +
		`\t` + q + `_Kind\s+= "` + q + `"\n` +
		`\t` + q + `_GroupKind\s+= schema\.GroupKind\{Group: CRDGroup, Kind: ` + q + `_Kind\}\.String\(\)\n` +
		`\t` + q + `_KindAPIVersion\s+= ` + q + `_Kind \+ "\." \+ CRDGroupVersion\.String\(\)\n` +
		`\t` + q + `_GroupVersionKind\s+= CRDGroupVersion\.WithKind\(` + q + `_Kind\)\n\)\n`)
	found := metadata.FindAllSubmatchIndex(out, -1)
	if len(found) != 1 {
		return nil, errors.Errorf("cannot find %s's type metadata as upjet writes it", kind)
	}
	at, comment := found[0], out[found[0][2]:found[0][3]]
	literal := fmt.Sprintf("\n%[1]s\nvar (\n"+
		"\t%[2]s_Kind = %[2]q\n"+
		"\t%[2]s_GroupKind = %[3]q\n"+
		"\t%[2]s_KindAPIVersion = %[4]q\n"+
		"\t%[2]s_GroupVersionKind = schema.GroupVersionKind{Group: CRDGroup, Version: CRDVersion, Kind: %[2]q}\n)\n",
		comment, kind, schema.GroupKind{Group: gv.Group, Kind: kind}.String(), kind+"."+gv.String())
	out = slices.Concat(out[:at[0]], []byte(literal), out[at[1]:])
	if bytes.Contains(out, []byte("SchemeBuilder")) {
		return nil, errors.Errorf("%s's types file uses SchemeBuilder beyond registering %[1]s", kind)
	}
	return format.Source(out)
}
