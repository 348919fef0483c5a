package specschema

// Exported for the external tests, which compare with the API server's
// libraries on the XRD's schemas: an internal test importing the xrd
// package would be an import cycle once xrd builds this package's
// validators.
var (
	ToOpenAPI              = toOpenAPI
	StripUnsupportedFormat = stripUnsupportedFormat
)
