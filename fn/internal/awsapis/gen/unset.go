package main

import (
	"bytes"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"slices"
	"strings"

	"github.com/crossplane/function-sdk-go/errors"
)

// The function sets neither a managed resource's spec.initProvider (values
// AWS takes only at creation: the function puts everything in forProvider)
// nor its status.atProvider (the provider's to report; the function reads
// observed resources from the request, not into these structs). Each is a
// tree of types as large as forProvider's, so the copies leave out the two
// fields and their types (*InitParameters, *Observation): a third of the
// copies' type descriptors each, which are in memory from the first request
// on, and two trees jsonmap walked for every composed resource
// (docs/performance.md, seventh pass). A builder that set either would not
// compile.

// unsetSuffixes end the names of the types of the fields the function never
// sets.
var unsetSuffixes = []string{"InitParameters", "Observation"}

// isUnset reports whether name is one of those types.
func isUnset(name string) bool {
	return slices.ContainsFunc(unsetSuffixes, func(s string) bool { return strings.HasSuffix(name, s) })
}

// cut is a range of a source file to leave out.
type cut struct{ from, to int }

// withCuts is src without cuts, each widened to whole lines.
func withCuts(src []byte, cuts []cut) []byte {
	slices.SortFunc(cuts, func(a, b cut) int { return a.from - b.from })
	var out bytes.Buffer
	at := 0
	for _, c := range cuts {
		from := bytes.LastIndexByte(src[:c.from], '\n') + 1
		to := c.to
		if i := bytes.IndexByte(src[to:], '\n'); i >= 0 {
			to += i + 1
		}
		if from < at {
			from = at
		}
		out.Write(src[at:from])
		at = to
	}
	out.Write(src[at:])
	return out.Bytes()
}

// withoutUnset leaves out of a types file the types isUnset names and the
// fields of other types that hold them, and returns the names of those
// fields by the type that declared them.
func withoutUnset(src []byte) ([]byte, map[string][]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, err
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	var cuts []cut
	fields := map[string][]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.TYPE {
			continue
		}
		if len(g.Specs) != 1 {
			return nil, nil, errors.New("cannot leave out unset fields of a grouped type declaration")
		}
		ts, ok := g.Specs[0].(*ast.TypeSpec)
		if !ok {
			continue
		}
		if isUnset(ts.Name.Name) {
			from := g.Pos()
			if g.Doc != nil {
				from = g.Doc.Pos()
			}
			cuts = append(cuts, cut{off(from), off(g.End())})
			continue
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			continue
		}
		for _, fd := range st.Fields.List {
			if !isUnset(typeName(fd.Type)) {
				continue
			}
			if len(fd.Names) != 1 {
				return nil, nil, errors.Errorf("%s: cannot leave out an embedded or multi-name field of an unset type", ts.Name.Name)
			}
			from := fd.Pos()
			if fd.Doc != nil {
				from = fd.Doc.Pos()
			}
			cuts = append(cuts, cut{off(from), off(fd.End())})
			fields[ts.Name.Name] = append(fields[ts.Name.Name], fd.Names[0].Name)
		}
	}
	out, err := format.Source(withCuts(src, cuts))
	if err != nil {
		return nil, nil, err
	}
	if left := unsetIdents(out); len(left) > 0 {
		return nil, nil, errors.Errorf("%s still used after leaving out the fields that hold them", strings.Join(left, ", "))
	}
	return out, fields, nil
}

// typeName is the name of the named type t is, or holds as a pointer,
// slice or map value.
func typeName(t ast.Expr) string {
	for {
		switch e := t.(type) {
		case *ast.StarExpr:
			t = e.X
		case *ast.ArrayType:
			t = e.Elt
		case *ast.MapType:
			t = e.Value
		case *ast.Ident:
			return e.Name
		default:
			return ""
		}
	}
}

// unsetIdents are the identifiers in src that name unset types, sorted.
func unsetIdents(src []byte) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && isUnset(id.Name) && !slices.Contains(out, id.Name) {
			out = append(out, id.Name)
		}
		return true
	})
	slices.Sort(out)
	return out
}

// unsetStatements are the statements of a deep copy method's body that copy
// a field withoutUnset left out of the receiver's type: they name it as
// in.<field> or out.<field>.
func unsetStatements(fd *ast.FuncDecl, left []string) []ast.Stmt {
	if fd.Body == nil || len(left) == 0 {
		return nil
	}
	var out []ast.Stmt
	for _, s := range fd.Body.List {
		found := false
		ast.Inspect(s, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "in" || id.Name == "out") && slices.Contains(left, sel.Sel.Name) {
					found = true
				}
			}
			return !found
		})
		if found {
			out = append(out, s)
		}
	}
	return out
}
